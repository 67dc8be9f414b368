"""The SSRF guard: by default a download may not reach loopback, private, link-local,
unique-local, multicast or reserved addresses, checked on every connection after DNS
resolution; OFFLINETUBE_ALLOW_PRIVATE_URLS=true lifts it."""

import importlib.util
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
from yt_dlp.downloader.external import CurlFD, ExternalFD, FFmpegFD
from yt_dlp.downloader.rtmp import RtmpFD
from yt_dlp.networking.exceptions import TransportError

from offlinetube_api.models import ErrorKind
from offlinetube_api.worker import network_guard
from offlinetube_api.worker.failures import classify
from offlinetube_api.worker.network_guard import ForbiddenTarget, guarded, refusal_reason
from tests.fixtures.canary import CanaryServer
from tests.fixtures.service import RunningService, ServiceFactory
from tests.fixtures.site import FixtureSite

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.170.2", "cloud metadata"),  # AWS ECS
    ("168.63.129.16", "cloud metadata"),  # Azure WireServer: a public address
    ("100.100.100.200", "cloud metadata"),  # Alibaba Cloud
    ("fd00:ec2::254", "cloud metadata"),  # AWS over IPv6
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456:789a::1", "unique-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.1", "non-public"),  # documentation
    ("198.18.0.1", "non-public"),  # benchmarking
    ("2001:db8::1", "non-public"),  # documentation
    ("::7f00:1", "reserved"),  # IPv4-compatible 127.0.0.1
    # IPv4-mapped IPv6 and NAT64 forms are judged by the IPv4 address they carry.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:100.64.0.1", "carrier-grade NAT"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    # 6to4 (2002:AABB:CCDD::/48 carries AA.BB.CC.DD) and Teredo (2001:0:<server>:...:<client,
    # each bit flipped>) tunnel to the IPv4 addresses they carry.
    ("2002:7f00:1::1", "loopback"),
    ("2002:a9fe:a9fe::", "cloud metadata"),
    ("2002:c0a8:101::1", "private"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # client 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # client 10.0.0.1
    ("2001:0:a00:1:8000:63bf:f7f7:f7f7", "private"),  # server 10.0.0.1, client 8.8.8.8
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "non-public"),  # Teredo itself is not global
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below carrier-grade NAT
    "100.128.0.0",  # just above it
    "172.15.255.255",  # just below 172.16/12
    "172.32.0.0",  # just above it
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    assert refusal_reason(address) == reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(address) is None


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real TCP server on 127.0.0.1 that the guard must keep the process away from."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def _port(listener: socket.socket) -> int:
    port: int = listener.getsockname()[1]
    return port


def test_guard_refuses_a_loopback_connection_and_says_why(listener: socket.socket) -> None:
    with guarded(), pytest.raises(ForbiddenTarget) as refused:
        socket.create_connection(("127.0.0.1", _port(listener)), timeout=5)

    assert str(refused.value) == (
        "Refused to connect to 127.0.0.1: loopback addresses are blocked "
        "(set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
    )


def test_guard_checks_the_resolved_address_of_a_name(listener: socket.socket) -> None:
    with guarded(), pytest.raises(ForbiddenTarget, match=r"127\.0\.0\.1: loopback"):
        socket.create_connection(("localhost", _port(listener)), timeout=5)


def test_guard_resolves_a_name_given_straight_to_connect(listener: socket.socket) -> None:
    """socket.connect would resolve the name itself; the guard resolves it first and connects
    to the address it checked, so a rebinding DNS cannot answer differently the second time."""
    with guarded(), socket.socket() as sock:
        with pytest.raises(ForbiddenTarget):
            sock.connect(("localhost", _port(listener)))
        with pytest.raises(ForbiddenTarget):
            sock.connect_ex(("localhost", _port(listener)))


def test_guard_refuses_ipv4_mapped_ipv6_loopback(listener: socket.socket) -> None:
    with (
        guarded(),
        socket.socket(socket.AF_INET6) as sock,
        pytest.raises(ForbiddenTarget, match=r"::ffff:127\.0\.0\.1: loopback"),
    ):
        sock.connect(("::ffff:127.0.0.1", _port(listener)))


def test_guard_lets_a_public_address_through_to_the_real_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real connect is replaced by a recorder (an edge, not the thing under test), so the
    # public address is handed on without a packet ever leaving this machine.
    handed_on: list[object] = []

    def record(sock: socket.socket, address: object) -> int:
        handed_on.append(address)
        return 0

    monkeypatch.setattr(network_guard, "_original_connect_ex", record)
    public = ("8.8.8.8", 9)  # handed to the recorder above, never to the network
    with guarded(), socket.socket() as sock:
        assert sock.connect_ex(public) == 0
    assert handed_on == [public]


def test_guard_leaves_unix_sockets_alone(tmp_path: Path) -> None:
    path = str(tmp_path / "unix.sock")
    with socket.socket(socket.AF_UNIX) as server, guarded():
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            assert client.getpeername() == path


def test_uninstall_restores_plain_connections(listener: socket.socket) -> None:
    with guarded():
        pass

    socket.create_connection(("127.0.0.1", _port(listener)), timeout=5).close()


def test_ytdlp_requests_surface_the_refusal_as_forbidden_target(site: FixtureSite) -> None:
    """Thumbnails, subtitles, redirects and media all go through yt-dlp's request layer: the
    refusal comes out of it wrapped, and is still classified and explained as the guard's."""
    with (
        guarded(),
        yt_dlp.YoutubeDL({"quiet": True}) as ydl,
        pytest.raises(TransportError) as raised,
    ):
        ydl.urlopen(site.url("/media/thumb.jpg"))

    kind, message = classify(raised.value)
    assert kind is ErrorKind.FORBIDDEN_TARGET
    assert message.startswith("Refused to connect to 127.0.0.1: loopback addresses are blocked")


REFUSED_LOOPBACK = (
    "Refused to connect to 127.0.0.1: loopback addresses are blocked "
    "(set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
)


class WarningsLog:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, message: str) -> None: ...

    def info(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def _process_guarded(
    folder: Path, log: WarningsLog | None = None, **embedded: object
) -> yt_dlp.utils.DownloadError:
    """yt-dlp downloads what a public page embedded, with the guard on; returns its error."""
    info = {
        "id": "clip",
        "title": "clip",
        "ext": "mp4",
        "url": "http://127.0.0.1:9/clip.mp4",
        "webpage_url": "https://public.example/watch",
        "extractor": "generic",
        "extractor_key": "Generic",
        **embedded,
    }
    options = {
        "quiet": True,
        "writesubtitles": True,
        "subtitleslangs": ["en"],
        "writethumbnail": True,
        "paths": {"home": str(folder)},
        "logger": log or WarningsLog(),
    }
    with (
        guarded(),
        yt_dlp.YoutubeDL(options) as ydl,
        pytest.raises(yt_dlp.utils.DownloadError) as raised,
    ):
        ydl.process_ie_result(info, download=True)
    return raised.value


def test_embedded_media_on_a_private_address_is_refused(tmp_path: Path) -> None:
    error = _process_guarded(tmp_path)

    assert classify(error) == (ErrorKind.FORBIDDEN_TARGET, REFUSED_LOOPBACK)
    assert list(tmp_path.iterdir()) == []


def test_embedded_subtitles_on_a_private_address_are_refused(tmp_path: Path) -> None:
    """yt-dlp keeps only the text of this refusal, not the exception: still classified."""
    subtitles = {"en": [{"url": "http://127.0.0.1:9/en.vtt", "ext": "vtt"}]}

    error = _process_guarded(tmp_path, subtitles=subtitles)

    assert classify(error) == (ErrorKind.FORBIDDEN_TARGET, REFUSED_LOOPBACK)
    assert list(tmp_path.iterdir()) == []


def test_embedded_thumbnail_on_a_private_address_is_skipped(tmp_path: Path) -> None:
    """yt-dlp drops a thumbnail it cannot fetch with a warning and goes on to the media."""
    thumbnails = [{"url": "http://169.254.169.254:9/thumb.jpg"}]
    log = WarningsLog()

    error = _process_guarded(tmp_path, log, thumbnails=thumbnails)

    assert any(
        "Refused to connect to 169.254.169.254: cloud metadata addresses are blocked" in warning
        for warning in log.warnings
    ), log.warnings
    assert classify(error)[0] is ErrorKind.FORBIDDEN_TARGET  # the media, reached after it
    assert list(tmp_path.iterdir()) == []


def _external_download(downloader: type[Any], protocol: str) -> None:
    with yt_dlp.YoutubeDL({"quiet": True}) as ydl:
        info = {"id": "x", "ext": "mp4", "protocol": protocol, "url": "https://x.test/a"}
        downloader(ydl, ydl.params).real_download("never-written.mp4", info)


@pytest.mark.parametrize(
    ("downloader", "protocol"), [(FFmpegFD, "m3u8_native"), (CurlFD, "https"), (RtmpFD, "rtmp")]
)
def test_external_programs_refuse_to_start_under_the_guard(
    downloader: type[Any], protocol: str
) -> None:
    """Whoever asks for them (a format, yt-dlp's own HLS fall-back, subtitles): the guard cannot
    see their sockets, so they do not start."""
    with guarded(), pytest.raises(ForbiddenTarget) as refused:
        _external_download(downloader, protocol)

    assert str(refused.value) == (
        f"Refused to download {protocol} media with {downloader.__name__}: connections opened "
        "by external programs cannot be checked (set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
    )
    assert classify(refused.value)[0] is ErrorKind.FORBIDDEN_TARGET


def test_uninstall_gives_external_programs_back() -> None:
    original = ExternalFD.real_download
    with guarded():
        assert ExternalFD.real_download is not original

    assert ExternalFD.real_download is original


def test_allowed_networks_let_their_addresses_through_and_no_other() -> None:
    allowed = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/24")]

    assert refusal_reason("127.0.0.1", allowed) is None
    assert refusal_reason("::ffff:127.0.0.1", allowed) is None
    assert refusal_reason("10.0.0.200", allowed) is None
    assert refusal_reason("127.0.0.2", allowed) == "loopback"
    assert refusal_reason("10.0.1.1", allowed) == "private"
    assert refusal_reason("169.254.169.254", allowed) == "cloud metadata"


def _files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


def test_download_from_loopback_is_refused_when_private_urls_are_not_allowed(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(allow_private_urls=False)

    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    assert (task["status"], task["error_kind"], task["attempts"]) == (
        "failed",
        "forbidden_target",
        1,
    )
    assert task["error"] == (
        "Refused to connect to 127.0.0.1: loopback addresses are blocked "
        "(set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
    )
    assert _files_under(service.settings.downloads_dir, service.settings.thumbnails_dir) == []


def test_same_download_completes_when_private_urls_are_allowed(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(allow_private_urls=True)

    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    assert (task["status"], task["error_kind"]) == ("completed", None)


def test_a_name_that_resolves_to_loopback_is_refused(
    make_service: ServiceFactory, site: FixtureSite
) -> None:
    service = make_service(allow_private_urls=False)
    url = site.page_url(video=site.url("/media/clip.mp4")).replace("127.0.0.1", "localhost")

    task = service.download_and_wait(url)

    assert (task["status"], task["error_kind"], task["attempts"]) == (
        "failed",
        "forbidden_target",
        1,
    )
    assert "loopback addresses are blocked" in task["error"]


@pytest.mark.parametrize("host", ["127.0.0.2", "[::ffff:127.0.0.2]"])
def test_a_thumbnail_the_guard_refused_is_never_handed_to_clients(
    guarded_service: RunningService, site: FixtureSite, canary: CanaryServer, host: str
) -> None:
    """Before: the video downloaded and `thumbnail` still offered the internal URL to every
    client's browser."""
    thumb = canary.url("/thumb.jpg").replace("127.0.0.2", host)
    page = site.page_url(video=site.url("/media/clip.mp4"), thumb=thumb)

    task = guarded_service.download_and_wait(page)

    assert (task["status"], task["thumbnail"]) == ("completed", None)
    listed = guarded_service.client.get("/api/downloads").json()
    assert [entry["thumbnail"] for entry in listed] == [None]
    assert canary.hits == []


def test_no_library_that_opens_sockets_below_python_is_installed() -> None:
    """The guard sees Python's sockets only: yt-dlp would hand impersonated requests to
    curl_cffi, whose libcurl connects in C. yt-dlp[default] leaves it out; keep it so."""
    assert importlib.util.find_spec("curl_cffi") is None
