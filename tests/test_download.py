"""`bmru data download` against a server on the loopback: resume, checksum, unpack."""

import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bmru_keras.data import download
from bmru_keras.data.speech_commands import DatasetError


def _archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in (("yes/a_nohash_0.wav", b"x" * 5000), ("README.md", b"hello")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


@pytest.fixture
def server():
    body = _archive()
    ranges = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            start = int(self.headers.get("Range", "bytes=0-")[6:].rstrip("-") or 0)
            ranges.append(start)
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/sc.tar.gz", body, ranges
    httpd.shutdown()


def test_a_cut_download_resumes_and_is_checked_before_unpacking(server, tmp_path):
    url, body, ranges = server
    digest = hashlib.sha256(body).hexdigest()
    (tmp_path / "sc.tar.part").write_bytes(body[:100])  # an earlier, cut download
    with pytest.raises(DatasetError, match="lacks"):  # unpacked; not the real dataset
        download.download_speech_commands(tmp_path, url, digest, len(body))
    assert ranges == [100]
    assert (tmp_path / "sc.tar.gz").read_bytes() == body
    assert (tmp_path / "README.md").read_text() == "hello"


def test_a_wrong_checksum_stops_before_unpacking(server, tmp_path):
    url, body, _ = server
    with pytest.raises(DatasetError, match="not the published"):
        download.download_speech_commands(tmp_path, url, "0" * 64, len(body))
    assert not (tmp_path / "README.md").exists() and not (tmp_path / "sc.tar.gz").exists()


def test_no_network_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="needs a network"):
        download.download_speech_commands(tmp_path, "http://127.0.0.1:9/x.tar.gz")


def test_the_published_archive_is_the_https_one():
    assert download.URL.startswith("https://")
    assert download.SHA256 == "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
    assert download.SIZE == 2_428_923_189
