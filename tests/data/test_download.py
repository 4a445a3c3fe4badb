"""Downloading UTD-MHAD from a loopback HTTP server serving zips built from the real files."""

import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import tfhar.data
from tfhar.data import DataError, download_dataset
from tfhar.data.__main__ import main
from tfhar.data.datasets import utd_mhad
from tfhar.data.download import sha256_file, shipped_checksums

SUBSET = 12  # Sequences per archive in most tests; one test serves the full release.


def _zip(source_root, folder, names, method=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr(f"{folder}/", b"")
        for name in names:
            archive.write(source_root / folder / name, f"{folder}/{name}")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def subset(utd_root):
    """(zip name -> bytes, folder -> expected names) for the first SUBSET sequences."""
    expected = {folder: names[:SUBSET] for folder, names in utd_mhad.expected_files().items()}
    zips = {f"{folder}.zip": _zip(utd_root, folder, names) for folder, names in expected.items()}
    return zips, expected


@pytest.fixture(scope="module")
def full_release(utd_root):
    """Zips of all 861 sequences per folder (stored, not deflated: quick to build)."""
    zips = {}
    for folder, names in utd_mhad.expected_files().items():
        extra = ("Skeleton_joint_order.txt",) if folder == "Skeleton" else ()
        zips[f"{folder}.zip"] = _zip(utd_root, folder, names + extra, zipfile.ZIP_STORED)
    return zips


class Server:
    """A loopback HTTP server for `files` that honours Range requests and records requests.

    `cut`: names whose next response sends half of its body and drops the connection;
    `ignore_range`: answer every request with the whole file (200), as some servers do.
    """

    def __init__(self, files, cut=(), ignore_range=False):
        self.files, self.cut, self.ignore_range = dict(files), set(cut), ignore_range
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/UTD-MAD"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def handle(self, handler):
        name = handler.path.rsplit("/", 1)[-1]
        requested_range = handler.headers.get("Range")
        self.requests.append((name, requested_range))
        if name not in self.files:
            handler.send_error(404)
            return
        data, start = self.files[name], 0
        if requested_range and not self.ignore_range:
            start = int(requested_range.removeprefix("bytes=").removesuffix("-"))
            if start >= len(data):
                handler.send_error(416)
                return
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        body = data[start:]
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if name in self.cut:
            self.cut.discard(name)
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(files, **kwargs):
        servers.append(Server(files, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/UTD-MAD"


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_extracted(root, expected, utd_root):
    for folder, names in expected.items():
        assert sorted(p.name for p in (root / folder).iterdir()) == sorted(names)
        for name in names[:3]:
            assert _digest(root / folder / name) == _digest(utd_root / folder / name)
    # No archive, partial download or temporary folder is left behind.
    assert sorted(p.name for p in root.iterdir()) == sorted(expected)


def test_downloads_verifies_and_extracts(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips)
    root = download_dataset(
        "utd_mhad",
        tmp_path / "utd",
        base_url=server.url,
        expected=expected,
        progress=False,
        log=lambda m: None,
    )
    assert root == tmp_path / "utd"
    _assert_extracted(root, expected, utd_root)
    assert server.requests == [("Inertial.zip", None), ("Skeleton.zip", None)]
    record = tfhar.data.load("utd_mhad", root, cache=False)
    assert record.inertial.shape == (SUBSET, 50, 6)


def test_complete_folders_are_skipped_without_network(subset, serve, tmp_path):
    zips, expected = subset
    server = serve(zips)
    root = tmp_path / "utd"
    download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    messages = []
    download_dataset(
        "utd_mhad", root, base_url=_closed_port_url(), expected=expected, log=messages.append
    )
    assert len(server.requests) == 2
    assert messages == [
        f"{root / 'Inertial'}: already complete ({SUBSET} files)",
        f"{root / 'Skeleton'}: already complete ({SUBSET} files)",
    ]


def test_the_full_release_is_complete_without_network(tmp_path, capsys):
    for folder, names in utd_mhad.expected_files().items():
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_bytes(b"x")
    url = _closed_port_url()
    assert main(["download", "utd_mhad", "--root", str(tmp_path), "--base-url", url]) == 0
    assert capsys.readouterr().out.count("already complete (861 files)") == 2


def test_one_missing_file_triggers_the_download(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips)
    root = tmp_path / "utd"
    download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    (root / "Skeleton" / expected["Skeleton"][4]).unlink()
    (root / "Skeleton" / "stale.txt").write_text("from an older, incomplete copy")
    download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    assert [name for name, _ in server.requests] == ["Inertial.zip", "Skeleton.zip", "Skeleton.zip"]
    _assert_extracted(root, expected, utd_root)


def test_an_interrupted_download_resumes_with_a_range_request(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips, cut={"Inertial.zip"})
    root = download_dataset(
        "utd_mhad", tmp_path / "utd", base_url=server.url, expected=expected, progress=False
    )
    half = len(zips["Inertial.zip"]) // 2
    assert server.requests[:2] == [("Inertial.zip", None), ("Inertial.zip", f"bytes={half}-")]
    _assert_extracted(root, expected, utd_root)


def test_a_partial_download_is_kept_and_resumed_by_the_next_run(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips, cut={"Inertial.zip"})
    root = tmp_path / "utd"
    with pytest.raises(DataError, match="Inertial.zip.part keeps .* run again to resume"):
        download_dataset(
            "utd_mhad", root, base_url=server.url, expected=expected, progress=False, retries=0
        )
    half = len(zips["Inertial.zip"]) // 2
    assert (root / "Inertial.zip.part").stat().st_size == half
    assert not (root / "Inertial").exists()
    download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    assert ("Inertial.zip", f"bytes={half}-") in server.requests
    _assert_extracted(root, expected, utd_root)


def test_a_server_ignoring_range_restarts_the_file(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips, ignore_range=True)
    root = tmp_path / "utd"
    root.mkdir()
    (root / "Inertial.zip.part").write_bytes(b"stale bytes from another file")
    download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    assert server.requests[0] == ("Inertial.zip", "bytes=29-")
    _assert_extracted(root, expected, utd_root)


def test_an_archive_already_in_root_is_used_without_network(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips)
    root = tmp_path / "utd"
    root.mkdir()
    (root / "Inertial.zip").write_bytes(zips["Inertial.zip"])
    download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    assert server.requests == [("Skeleton.zip", None)]
    _assert_extracted(root, expected, utd_root)


def _flip_member_byte(data):
    """Corrupt the compressed bytes of the first .mat member (so its CRC check fails)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(".mat"))
    body = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(data)
    damaged[body + info.compress_size // 2] ^= 0xFF
    return bytes(damaged)


def _drop_members(data):
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist()[:-2]:
            archive.writestr(info, source.read(info))
    return buffer.getvalue()


DAMAGE = {
    "not a zip": (
        lambda data: np.random.default_rng(0).bytes(len(data)),
        "not a valid zip archive",
    ),
    "truncated": (lambda data: data[: len(data) // 3], "not a valid zip archive"),
    "bad member": (_flip_member_byte, r"member Inertial/a1_s1_t1_inertial.mat is corrupt"),
    "missing members": (_drop_members, "2 of 12 expected files are missing under Inertial/"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_corrupt_archive_is_removed_and_nothing_extracted(subset, serve, tmp_path, damage):
    zips, expected = subset
    corrupt, message = DAMAGE[damage]
    server = serve({**zips, "Inertial.zip": corrupt(zips["Inertial.zip"])})
    root = tmp_path / "utd"
    with pytest.raises(DataError, match=message) as error:
        download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    assert str(root / "Inertial.zip") in str(error.value)
    assert list(root.iterdir()) == []


def _replace_member(data, damage):
    """A valid zip like `data` whose first .mat member has its bytes passed through `damage`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    first = next(i.filename for i in source.infolist() if i.filename.endswith(".mat"))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info)
            archive.writestr(info, damage(content) if info.filename == first else content)
    return buffer.getvalue(), first


@pytest.mark.parametrize(
    "damage",
    [
        lambda content: content[:-8] + b"\x00" * 8,  # Same size, last bytes changed.
        lambda content: content + b"\n",  # One byte more.
    ],
)
def test_a_valid_zip_with_a_wrong_file_is_refused_and_nothing_kept(
    subset, serve, tmp_path, utd_root, damage
):
    zips, expected = subset
    corrupt, member = _replace_member(zips["Skeleton.zip"], damage)
    with zipfile.ZipFile(io.BytesIO(corrupt)) as archive:
        assert archive.testzip() is None  # The CRCs agree: only SHA-256 can tell.
    server = serve({**zips, "Skeleton.zip": corrupt})
    root = tmp_path / "utd"
    with pytest.raises(DataError) as error:
        download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    official = _digest(utd_root / member)
    assert str(error.value).startswith(f"{root / 'Skeleton.zip'}: {member} has SHA-256 ")
    assert f"the official file {official}: the archive is damaged" in str(error.value)
    # Inertial was fine and stays; nothing of Skeleton: no folder, archive or temporary folder.
    assert sorted(p.name for p in root.iterdir()) == ["Inertial"]


def test_every_extracted_file_is_verified(subset, serve, tmp_path):
    zips, expected = subset
    server = serve(zips)
    messages = []
    root = tmp_path / "utd"
    download_dataset(
        "utd_mhad",
        root,
        base_url=server.url,
        expected=expected,
        progress=False,
        log=messages.append,
    )
    assert f"{root / 'Inertial'}: extracted {SUBSET} expected files, {SUBSET} SHA-256 verified" in (
        messages
    )


def test_the_shipped_checksums_are_the_official_files():
    shipped = shipped_checksums("utd_mhad")
    official = utd_mhad.expected_files()
    assert sorted(shipped) == sorted(f"{f}/{n}" for f, names in official.items() for n in names)
    assert all(len(digest) == 64 for digest in shipped.values())


def test_the_shipped_checksums_match_the_shared_data(utd_root):
    lines = (utd_root / "SHA256SUMS").read_text().splitlines()
    assert shipped_checksums("utd_mhad") == {
        name.strip(): digest for digest, name in (line.split("  ", 1) for line in lines)
    }
    assert (
        sha256_file(utd_root / "Inertial" / "a1_s1_t1_inertial.mat")
        == (shipped_checksums("utd_mhad")["Inertial/a1_s1_t1_inertial.mat"])
    )


def test_a_matching_archive_sha256_is_accepted(subset, serve, utd_root, tmp_path):
    zips, expected = subset
    server = serve(zips)
    digest = hashlib.sha256(zips["Inertial.zip"]).hexdigest().upper()  # Any case.
    root = download_dataset(
        "utd_mhad",
        tmp_path / "utd",
        base_url=server.url,
        expected=expected,
        progress=False,
        archive_sha256={"Inertial.zip": digest},
    )
    _assert_extracted(root, expected, utd_root)


@pytest.mark.parametrize("archive", ["Inertial.zip", "Skeleton.zip"])
def test_a_differing_archive_sha256_is_refused(subset, serve, tmp_path, archive):
    zips, expected = subset
    server = serve(zips)
    actual = hashlib.sha256(zips[archive]).hexdigest()
    root = tmp_path / "utd"
    with pytest.raises(DataError) as error:
        download_dataset(
            "utd_mhad",
            root,
            base_url=server.url,
            expected=expected,
            progress=False,
            archive_sha256={archive: "f" * 64},
        )
    assert str(error.value) == (
        f"{root / archive}: SHA-256 {actual} differs from the expected {'f' * 64}"
    )
    # The archive is removed; only a folder verified before it stays.
    kept = ["Inertial"] if archive == "Skeleton.zip" else []
    assert sorted(p.name for p in root.iterdir()) == kept


def test_a_failed_extraction_leaves_no_half_folder(subset, serve, tmp_path, monkeypatch):
    zips, expected = subset
    server = serve(zips)

    def extract_one_then_fail(self, path=None, members=None, pwd=None):
        self.extract(members[1], path)
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", extract_one_then_fail)
    root = tmp_path / "utd"
    with pytest.raises(OSError, match="disk full"):
        download_dataset("utd_mhad", root, base_url=server.url, expected=expected, progress=False)
    # The verified archive stays for the next run; no folder, not even a temporary one.
    assert sorted(p.name for p in root.iterdir()) == ["Inertial.zip"]


def test_http_errors_are_reported(subset, serve, tmp_path):
    server = serve({})
    with pytest.raises(DataError, match="could not download .*/Inertial.zip: HTTP 404"):
        download_dataset(
            "utd_mhad", tmp_path, base_url=server.url, expected=subset[1], progress=False
        )


def test_network_failure_exits_2_with_one_error_line(tmp_path, capsys):
    argv = ["download", "utd_mhad", "--root", str(tmp_path), "--base-url", _closed_port_url()]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not download http://127.0.0.1:")
    assert "Inertial.zip" in err and err.count("\n") == 1


def test_progress_bar_goes_to_stderr(subset, serve, tmp_path, capsys):
    zips, expected = subset
    server = serve(zips)
    download_dataset(
        "utd_mhad", tmp_path, base_url=server.url, expected=expected, progress=True, log=print
    )
    captured = capsys.readouterr()
    assert "Inertial.zip" in captured.err and "B/s" in captured.err
    assert "B/s" not in captured.out


def test_command_line_downloads_the_full_release(full_release, serve, tmp_path, capsys):
    server = serve(full_release, cut={"Skeleton.zip"})
    root = tmp_path / "utd_mhad"
    digest = hashlib.sha256(full_release["Skeleton.zip"]).hexdigest()
    argv = [
        "download",
        "utd_mhad",
        "--root",
        str(root),
        "--base-url",
        server.url,
        "--quiet",
        "--sha256",
        f"Skeleton.zip={digest}",
    ]
    assert main(argv) == 0
    assert capsys.readouterr().out.count("extracted 861 expected files") == 2
    assert (root / "Skeleton" / "Skeleton_joint_order.txt").is_file()
    assert main(argv) == 0
    assert capsys.readouterr().out.count("already complete (861 files)") == 2
    assert len(server.requests) == 3  # Inertial, Skeleton cut once, Skeleton resumed.
    record = tfhar.data.load("utd_mhad", root, cache=False, modalities=("skeleton",))
    assert record.skeleton.shape == (861, 50, 20, 3)
