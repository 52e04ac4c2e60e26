"""Real-vocabulary benchmark corpora from Debian's French documentation packages.

Steps (each reuses the previous one's output when it is already there)::

    python bench/realcorpus.py lock        # (maintainers) pin package versions in the manifest
    python bench/realcorpus.py fetch       # apt-get download the pinned .debs, check sha256
    python bench/realcorpus.py extract     # .debs -> distinct French paragraphs
    python bench/realcorpus.py build --sizes real-100k,real-max,reused-1m
    python bench/realcorpus.py all         # fetch + extract + build (default sizes)

* ``lock`` asks ``apt-cache show`` for each package of :data:`PACKAGES` (Debian 12
  "bookworm") and writes name, version, pool file name, size and SHA-256 to
  ``bench/realcorpus-manifest.json`` (committed). ``fetch`` downloads exactly those
  versions (``apt-get download name=version``) into ``bench/corpora/debian/debs/``
  and refuses a file whose SHA-256 differs. When a version has left the archive, the
  same file is on https://snapshot.debian.org under its pool path.
* ``extract`` unpacks each .deb (``dpkg-deb -x``), reads the French documentation files
  (HTML/XHTML, also inside .epub and JavaHelp .jar archives; GNOME/MATE Mallard and
  DocBook help; KDE DocBook; man pages; LyX; plain text only where a package has none
  of those) with ``bench/extract.py``, keeps French prose, drops duplicate paragraphs
  (same words, ignoring case and punctuation; first occurrence wins, in manifest then
  path order), then adds the 480 PIAF Wikipedia articles
  (``shared/eval/piaf/threads.jsonl``) and the 45k paragraphs of
  ``shared/bench/fr_paragraphs.jsonl.gz`` (older copies of the packages' text, cut
  differently: a paragraph of it is dropped when half of its sentences are already in,
  so few survive). PDFs are not read. Output:
  ``bench/corpora/debian/paragraphs.jsonl.gz`` (``pkg``, ``file``, ``text``) and per-source
  counts; its SHA-256 is recorded in the manifest so a rebuild can be checked.
* ``build`` groups paragraphs into threads by source file (runs of 4-25 consecutive
  paragraphs of one file, as ``bench/corpus.py``; a post of 1-3 paragraphs, then
  comments of one paragraph, one in ten of two; seeded authors and dates), shuffles the
  runs once (seeded) and writes:

  - ``real-<N>``: the first N passages of the shuffled real threads (``real-100k`` is a
    prefix of ``real-max``);
  - ``real-max``: every real paragraph once;
  - ``reused-<N>``: every real thread, then threads of *recombined real sentences*
    (``corpus.Recombiner``) up to N passages. Reused text: no new words after the real
    part, so its vocabulary is that of ``real-max``.

  Each corpus ``bench/corpora/<label>.jsonl`` gets a ``<label>.stats.json`` beside it
  (``bench/corpusstats.py``); a corpus over 128 MiB is a folder ``<label>/`` of parts
  instead (Fil's reader refuses files over 256 MiB). Nothing under ``bench/corpora/``
  is committed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import extract  # noqa: E402

SHARED = BENCH.parent.parent / "shared"
PIAF_THREADS = SHARED / "eval" / "piaf" / "threads.jsonl"
FR_PARAGRAPHS = SHARED / "bench" / "fr_paragraphs.jsonl.gz"
MANIFEST = BENCH / "realcorpus-manifest.json"
CACHE = corpus.CORPORA / "debian"
DEBS = CACHE / "debs"
PARAGRAPHS = CACHE / "paragraphs.jsonl.gz"
SEED = "fil-real-v1"
EXTRACTOR_VERSION = 1  # bump when bench/extract.py changes what it keeps

def _words(text: str) -> list[str]:
    """The whitespace-separated words of a literal list."""
    return text.split()


#: Debian 12 packages holding French documentation, and which of their paths are French
#: (multilingual packages ship every language; ``None``: the whole package is French).
DOC_PACKAGES: dict[str, tuple[str, ...] | None] = {
    "libreoffice-help-fr": None,
    "gimp-help-fr": None,
    "manpages-fr": None,
    "manpages-fr-dev": None,
    "debian-handbook": ("/html/fr-FR/",),
    "debian-reference-fr": None,
    "developers-reference-fr": None,
    "maint-guide-fr": None,
    "debian-faq-fr": None,
    "aptitude-doc-fr": None,
    "lilypond-doc-html-fr": None,
    "debian-edu-doc-fr": None,
    "debian-edu-doc-legacy-fr": None,
    "installation-guide-amd64": ("/installation-guide-amd64/fr/",),
    "harden-doc": ("/html/fr-FR/",),
    "kicad-doc-fr": None,
    "linuxcnc-doc-fr": None,
    "scilab-doc-fr": None,
    "texworks-help-fr": None,
    "gosa-help-fr": None,
    "eyes17-manuals-fr": None,
    "ubuntu-packaging-guide-html-fr": None,
    "lyx-common": ("/lyx/doc/fr/",),
}
#: GNOME and MATE applications whose package carries their French help (Mallard pages).
HELP_PACKAGES = _words("""
gnome-user-docs gnome-devel-docs mate-user-guide evolution-common accerciser gnote
anjuta-common zenity-common evince-common aisleriot orca atril-common gedit-common
pluma-common gnome-terminal-data seahorse eom-common eog engrampa-common
mate-terminal-common gnome-system-monitor shotwell-common gnome-boxes simple-scan
gnome-klotski gtranslator iagno rhythmbox-data gnome-calculator file-roller cheese-common
deja-dup totem-common gnome-dictionary gnome-mahjongg gnome-sudoku lightsoff five-or-more
brasero-common baobab gnome-mines gnome-robots quadrapassel gnome-clocks gnome-nibbles
four-in-a-row gucharmap ghex gnome-taquin gnome-chess glade vinagre tali polari
sound-juicer gnome-music gnome-tetravex swell-foop gnome-photos hitori gnome-logs
""")
#: KDE applications whose package carries a French DocBook handbook.
KDE_PACKAGES = _words("kstars-data okular kile-doc kdenlive-data marble-data kmail")
#: Debian tools whose package carries French man pages (not in manpages-fr).
MAN_PACKAGES = _words("""
devscripts debhelper dpkg-dev po4a passwd procps xz-utils apt dpkg man-db login psmisc
debianutils schroot debconf-doc sensible-utils adduser apt-utils debsums deborphan
apt-show-versions apt-listchanges
""")
PACKAGES: dict[str, tuple[str, ...] | None] = {
    **DOC_PACKAGES,
    **dict.fromkeys(HELP_PACKAGES, ("/help/fr/",)),
    **dict.fromkeys(KDE_PACKAGES, ("/HTML/fr/",)),
    **dict.fromkeys(MAN_PACKAGES, ("/man/fr/", "/man/fr.UTF-8/")),
}
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".xhp", ".page", ".docbook")
ARCHIVE_SUFFIXES = (".epub", ".jar")
#: Pages that repeat others of the same package whole (LilyPond's one-page manuals).
SKIP_NAME_PARTS = ("-big-page.",)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- lock and fetch ----------------------------------------------------------------------------


def read_manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def write_manifest(data: dict) -> None:
    MANIFEST.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def apt_show(name: str) -> dict[str, str]:
    """The candidate version's fields (``apt-cache show --no-all-versions``)."""
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", name], text=True,
                         capture_output=True, check=True).stdout
    fields: dict[str, str] = {}
    for line in out.splitlines():
        if ":" in line and not line.startswith(" "):
            k, v = line.split(":", 1)
            fields.setdefault(k, v.strip())
    return fields


def lock() -> None:
    """Pin the current candidate version of every package of :data:`PACKAGES`."""
    old = read_manifest() if MANIFEST.exists() else {}
    pkgs = []
    for name, paths in PACKAGES.items():
        f = apt_show(name)
        pkgs.append({"name": name, "version": f["Version"], "filename": f["Filename"],
                     "size": int(f["Size"]), "sha256": f["SHA256"],
                     "french_paths": list(paths) if paths else None})
        log(f"{name} {f['Version']}")
    write_manifest({
        "about": "Debian packages (and shared files) that bench/realcorpus.py turns into "
                 "the real-vocabulary corpora; see its docstring.",
        "distribution": "Debian 12 (bookworm), main",
        "packages": pkgs,
        "shared": {str(p.relative_to(SHARED)): sha256_file(p)
                   for p in (PIAF_THREADS, FR_PARAGRAPHS)},
        "extractor_version": EXTRACTOR_VERSION,
        "seed": SEED,
        "paragraphs": old.get("paragraphs"),
    })


def deb_path(pkg: dict) -> Path:
    return DEBS / Path(pkg["filename"]).name


def fetch() -> None:
    """Download the manifest's .debs (exact versions) and check their SHA-256."""
    DEBS.mkdir(parents=True, exist_ok=True)
    for pkg in read_manifest()["packages"]:
        path = deb_path(pkg)
        if path.exists() and sha256_file(path) == pkg["sha256"]:
            continue
        with tempfile.TemporaryDirectory(dir=DEBS) as tmp:
            proc = subprocess.run(["apt-get", "download", f"{pkg['name']}={pkg['version']}"],
                                  cwd=tmp, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(
                    f"apt-get download {pkg['name']}={pkg['version']} failed:\n{proc.stderr}"
                    f"\nThe file is on https://snapshot.debian.org as {pkg['filename']}; "
                    f"put it in {DEBS}.")
            got = next(Path(tmp).glob("*.deb"))
            shutil.move(str(got), path)
        digest = sha256_file(path)
        if digest != pkg["sha256"]:
            raise SystemExit(f"{path.name}: SHA-256 {digest} is not the manifest's "
                             f"{pkg['sha256']}")
        log(f"fetched {path.name}")


# -- extract -----------------------------------------------------------------------------------


def _is_french_path(rel: str, french_paths: list[str] | None) -> bool:
    return french_paths is None or any(p in "/" + rel for p in french_paths)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def package_documents(root: Path, pkg: dict) -> Iterator[tuple[str, list[str]]]:
    """(file name, raw paragraphs) for each French document of an unpacked package.

    HTML (also Mallard ``.page`` and DocBook ``.docbook`` sources) first, then man pages,
    archives (.epub, .jar) and LyX documents, each in path order; plain text only when
    the package has none of those.
    """
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    files = [p for p in files if _is_french_path(str(p.relative_to(root)), pkg["french_paths"])
             and not any(s in p.name for s in SKIP_NAME_PARTS)]
    html = [p for p in files if p.name.endswith(HTML_SUFFIXES)
            or (p.name.endswith(".xml") and "/help/" in str(p))]  # DocBook help (MATE)
    man = [p for p in files if "/man/" in str(p) and p.name.endswith(".gz")
           and p.name[:-3].rsplit(".", 1)[-1][:1].isdigit()]
    archives = [p for p in files if p.name.endswith(ARCHIVE_SUFFIXES)]
    lyx = [p for p in files if p.name.endswith(".lyx")]
    texts = [p for p in files if p.name.endswith(".txt") and "/_sources/" not in str(p)]
    name = pkg["name"]
    for p in html:
        yield f"{name}/{p.relative_to(root)}", extract.html_paragraphs(_decode(p.read_bytes()))
    for p in man:
        yield f"{name}/{p.relative_to(root)}", extract.roff_paragraphs(
            _decode(gzip.decompress(p.read_bytes())))
    for p in archives:
        with zipfile.ZipFile(p) as z:
            for member in sorted(z.namelist()):
                if member.endswith(HTML_SUFFIXES):
                    yield (f"{name}/{p.relative_to(root)}!{member}",
                           extract.html_paragraphs(_decode(z.read(member))))
    for p in lyx:
        yield f"{name}/{p.relative_to(root)}", extract.lyx_paragraphs(_decode(p.read_bytes()))
    if not (html or man or archives or lyx):
        for p in texts:
            yield (f"{name}/{p.relative_to(root)}",
                   list(extract.text_paragraphs(_decode(p.read_bytes()))))


def shared_documents() -> Iterator[tuple[str, str, list[str]]]:
    """(pkg, file, paragraphs): the PIAF articles, then the shared paragraph sample."""
    with PIAF_THREADS.open(encoding="utf-8") as fh:
        for line in fh:
            t = json.loads(line)
            paras = list(t.get("post", {}).get("paragraphs", []))
            for c in t.get("comments", []):
                paras.extend(c.get("paragraphs", []))
            yield "piaf", f"piaf/{t['id']}", paras
    by_file: dict[tuple[str, str], list[str]] = {}
    with gzip.open(FR_PARAGRAPHS, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            by_file.setdefault((row["pkg"], row["file"]), []).append(row["text"])
    for (pkg, file), paras in by_file.items():
        yield f"shared:{pkg}", f"shared/{file}", paras


def extract_all() -> dict:
    """Write :data:`PARAGRAPHS`; return counts per source (kept, candidates)."""
    manifest = read_manifest()
    seen: set[str] = set()
    counts: dict[str, dict[str, int]] = {}
    PARAGRAPHS.parent.mkdir(parents=True, exist_ok=True)
    tmp = PARAGRAPHS.with_suffix(".tmp")
    started = time.perf_counter()

    sentences: set[str] = set()  # keys of the sentences of every kept package paragraph

    def keep(pkg: str, file: str, raw: Iterable[str], out: gzip.GzipFile) -> None:
        c = counts.setdefault(pkg, Counter())
        shared = pkg.startswith("shared:")
        for text in raw:
            text = extract.normalise(text)
            c["blocks"] += 1
            if not extract.is_prose(text):
                continue
            c["prose"] += 1
            key = extract.dedupe_key(text)
            if key in seen:
                continue
            sents = [extract.dedupe_key(x) for x in corpus.split_sentences(text)]
            # The shared sample comes from older versions of the same packages, cut
            # differently (a man page's section heading or option leads some paragraphs,
            # "ERREURS EACCES L'écriture..."): drop its paragraphs when half of their
            # sentences are already in (the first one also without its first 1-3 words).
            if shared:
                first = {extract.dedupe_key(corpus.split_sentences(text)[0], d)
                         for d in range(4)}
                known = sum(x in sentences for x in sents[1:]) + bool(first & sentences)
                if 2 * known >= len(sents):
                    c["near_duplicates"] += 1
                    continue
            else:
                sentences.update(sents)
            seen.add(key)
            c["kept"] += 1
            out.write(json.dumps({"pkg": pkg, "file": file, "text": text},
                                 ensure_ascii=False).encode() + b"\n")

    with gzip.GzipFile(tmp, "wb", mtime=0) as out:
        for pkg in manifest["packages"]:
            path = deb_path(pkg)
            if not path.exists():
                raise SystemExit(f"{path} missing: run `python bench/realcorpus.py fetch`")
            with tempfile.TemporaryDirectory(prefix="fil-deb-") as tmpdir:
                subprocess.run(["dpkg-deb", "-x", str(path), tmpdir], check=True)
                for file, raw in package_documents(Path(tmpdir), pkg):
                    keep(pkg["name"], file, raw, out)
            log(f"{pkg['name']}: {dict(counts.get(pkg['name'], {}))} "
                f"({time.perf_counter() - started:.0f}s)")
        for pkg, file, raw in shared_documents():
            keep(pkg, file, raw, out)
    tmp.replace(PARAGRAPHS)
    summary = {"extractor_version": EXTRACTOR_VERSION, "distinct_paragraphs": len(seen),
               "sha256": sha256_file(PARAGRAPHS),
               "per_source": {k: dict(v) for k, v in counts.items()}}
    recorded = manifest.get("paragraphs")
    if recorded and recorded.get("extractor_version") == EXTRACTOR_VERSION and \
            recorded.get("sha256") != summary["sha256"]:
        log(f"WARNING: paragraphs differ from the manifest's ({recorded['sha256'][:12]} "
            f"recorded, {summary['sha256'][:12]} now): not the same corpus")
    manifest["paragraphs"] = summary
    write_manifest(manifest)
    log(f"{len(seen):,} distinct paragraphs in {PARAGRAPHS} "
        f"({time.perf_counter() - started:.0f}s)")
    return summary


# -- build -------------------------------------------------------------------------------------


def load_real() -> list[corpus.Paragraph]:
    """The extracted distinct paragraphs, in extraction order."""
    if not PARAGRAPHS.exists():
        raise SystemExit(f"{PARAGRAPHS} missing: run `python bench/realcorpus.py fetch "
                         "extract` first")
    out = []
    with gzip.open(PARAGRAPHS, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out.append(corpus.Paragraph(row["pkg"], row["file"], row["text"]))
    return out


def parse_label(label: str) -> tuple[str, int | None]:
    """``"real-100k"`` -> ("real", 100000); ``"real-max"`` -> ("real", None);
    ``"reused-1m"`` -> ("reused", 1000000)."""
    kind, _, size = label.partition("-")
    if kind not in ("real", "reused") or not size:
        raise ValueError(f"not a real-corpus label: {label!r} (real-<N>, real-max, reused-<N>)")
    if size == "max":
        if kind != "real":
            raise ValueError("only real-max is defined")
        return kind, None
    return kind, corpus.parse_size(size)


def is_label(label: str) -> bool:
    try:
        parse_label(label)
    except ValueError:
        return False
    return True


def group_thread(rng: random.Random, paras: list[str]) -> tuple[list[str], list[list[str]]]:
    """A post of 1-3 paragraphs, then comments of one paragraph (one in ten has two).

    Shorter comments than ``corpus.group_thread`` (1-3): forum comments are mostly one
    paragraph, and a passage per paragraph lets the real text reach 100k passages.
    """
    k = min(len(paras), rng.choice((1, 1, 1, 2, 2, 3)))
    post, rest, comments = paras[:k], paras[k:], []
    while rest:
        n = 2 if rng.random() < 0.1 else 1
        comments.append(rest[:n])
        rest = rest[n:]
    return post, comments


def real_threads(paras: list[corpus.Paragraph]) -> Iterator[dict[str, object]]:
    """Every real paragraph once, as threads (seeded; independent of the size asked)."""
    rng = random.Random(f"{SEED}:threads")
    sig = corpus.Signatures(random.Random(f"{SEED}:signatures"))
    for n, run in enumerate(corpus.real_runs(rng, paras), start=1):
        post, comments = group_thread(rng, run)
        yield corpus.thread_record(f"r{n:07d}", post, comments, sig)


def passages_of(rec: dict) -> int:
    return len(rec["post"]["paragraphs"]) + len(rec["comments"])  # type: ignore[index]


def generate(label: str, paras: list[corpus.Paragraph]) -> Iterator[dict[str, object]]:
    """The thread records of a real-corpus label."""
    kind, target = parse_label(label)
    total = n = 0
    for rec in real_threads(paras):
        k = passages_of(rec)
        if target is not None and total + k > target:
            keep = target - total
            post = rec["post"]["paragraphs"]  # type: ignore[index]
            rec["post"]["paragraphs"] = post[:max(1, keep)]  # type: ignore[index]
            rec["comments"] = rec["comments"][:max(0, keep - len(post))]  # type: ignore[index]
            k = passages_of(rec)
        total += k
        n += 1
        yield rec
        if target is not None and total >= target:
            return
    if kind == "real":
        if target is not None and total < target:
            log(f"{label}: only {total:,} real passages exist (real-max)")
        return
    rng = random.Random(f"{SEED}:reused:{target}")
    sig = corpus.Signatures(random.Random(f"{SEED}:reused-signatures"))
    recombiner = corpus.Recombiner(random.Random(f"{SEED}:recombine"), paras)
    while target is not None and total < target:
        post, comments = group_thread(rng, recombiner.paragraphs(rng.randint(4, 25)))
        comments = comments[: max(0, target - total - len(post))]
        post = post[: max(1, target - total)]
        n += 1
        total += len(post) + len(comments)
        yield corpus.thread_record(f"u{n:07d}", post, comments, sig)


#: Fil's reader refuses thread files over 256 MiB: larger corpora are written as a folder
#: ``bench/corpora/<label>/`` of parts of at most this many bytes.
PART_BYTES = 128 * 2**20


def location(label: str) -> Path | None:
    """Where a built corpus is: ``<label>.jsonl``, or the folder ``<label>/`` of parts."""
    path = corpus.corpus_path(label)
    if path.exists():
        return path
    folder = path.with_suffix("")
    return folder if folder.is_dir() and any(folder.glob("*.jsonl")) else None


def write_corpus(label: str, paras: list[corpus.Paragraph] | None = None,
                 root: Path | None = None) -> Path:
    """Write the corpus of ``label`` (under ``root``, default ``bench/corpora``) and its
    stats; return its path (file or folder)."""
    import corpusstats

    paras = paras if paras is not None else load_real()
    single = (root / f"{label}.jsonl") if root else corpus.corpus_path(label)
    folder = single.with_suffix("")
    single.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    parts: list[Path] = []
    fh = None
    try:
        for rec in generate(label, paras):
            if fh is None or fh.tell() >= PART_BYTES:
                if fh is not None:
                    fh.close()
                parts.append(tmp / f"part-{len(parts):03d}.jsonl")
                fh = parts[-1].open("w", encoding="utf-8")
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if fh is not None:
            fh.close()
    single.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    if len(parts) == 1:
        parts[0].replace(single)
        tmp.rmdir()
        out = single
    else:
        tmp.replace(folder)
        out = folder
    corpusstats.ensure_stats(out, label)
    return out


def ensure_corpus(label: str) -> Path:
    path = location(label)
    if path is not None:
        return path
    if not PARAGRAPHS.exists():
        fetch()
        extract_all()
    return write_corpus(label)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=("lock", "fetch", "extract", "build", "all"))
    ap.add_argument("--sizes", default="real-100k,real-max,reused-1m",
                    help="comma-separated labels: real-<N>, real-max, reused-<N>")
    args = ap.parse_args(argv)
    if args.step == "lock":
        lock()
        return 0
    if args.step in ("fetch", "all"):
        fetch()
    if args.step in ("extract", "all"):
        extract_all()
    if args.step in ("build", "all"):
        paras = load_real()
        for label in args.sizes.split(","):
            started = time.perf_counter()
            path = write_corpus(label.strip(), paras)
            size = sum(p.stat().st_size for p in corpus.corpus_files(path))
            log(f"{path}: {size / 2**20:.1f} MiB, {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
