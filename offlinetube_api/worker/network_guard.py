"""The SSRF guard of the download process: every connection the process opens (every
`connect()` on an IPv4 or IPv6 socket) is checked against the address it really connects to,
after DNS resolution.

Installed by the download process itself before yt-dlp starts, so the page, its redirects, the
media, thumbnails and subtitles all pass through it, whatever library opens the socket. A name is
resolved here and the checked address is the one connected to, so a public name that resolves to
127.0.0.1 (or is rebound to it between two lookups) is refused.

What it does NOT cover:
- programs the process starts: ffmpeg, rtmpdump, mpv... open their own sockets. Downloads are
  kept in-process (`IN_PROCESS_OPTIONS`) and a format that would still need an external
  downloader is refused (`RefuseExternalDownloaders`), but yt-dlp's native HLS downloader can
  fall back to ffmpeg by itself for playlists it cannot handle (some encryption schemes), and
  such a fallback is not seen;
- sockets opened in C below Python (curl_cffi, if it is ever installed);
- a proxy: with HTTP(S)_PROXY set, the proxy is checked, not the address it forwards to;
- datagrams sent with `sendto()` on an unconnected UDP socket (nothing in yt-dlp does this).
"""

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from yt_dlp.downloader import get_suitable_downloader
from yt_dlp.downloader.external import ExternalFD
from yt_dlp.downloader.rtmp import RtmpFD
from yt_dlp.postprocessor import PostProcessor

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HINT = "set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow"

# yt-dlp's own downloaders for HLS and DASH, so their connections go through the guard.
IN_PROCESS_OPTIONS: dict[str, Any] = {"external_downloader": {"default": "native"}}

_RFC1918 = tuple(map(ipaddress.IPv4Network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")))
_CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the last 32 bits are an IPv4 address
_INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)
_EXTERNAL_DOWNLOADERS = (ExternalFD, RtmpFD)  # RtmpFD runs rtmpdump

# Checked in order; the first that matches names the refusal.
_BLOCKED: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("unspecified", lambda ip: ip.is_unspecified),
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local (cloud metadata included)", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("unique-local", lambda ip: ip in _UNIQUE_LOCAL),
    ("carrier-grade NAT", lambda ip: ip in _CARRIER_GRADE_NAT),
    ("private", lambda ip: any(ip in network for network in _RFC1918)),
    ("reserved", lambda ip: ip.is_reserved),
    ("non-public", lambda ip: not ip.is_global),
)


class ForbiddenTarget(OSError):
    """The download tried to reach an address the service does not allow.

    An OSError, so every network library passes it up the way it passes up a refused
    connection; `failures.classify` looks for it before anything else."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EACCES, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _unwrapped(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 IPv6 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def refusal_reason(address: str) -> str | None:
    """Why a connection to this IP address is refused, or None when it is public."""
    ip = _unwrapped(ipaddress.ip_address(address))
    return next((label for label, blocked in _BLOCKED if blocked(ip)), None)


def check_address(address: str) -> None:
    reason = refusal_reason(address)
    if reason is not None:
        raise ForbiddenTarget(
            f"Refused to connect to {address}: {reason} addresses are blocked ({ALLOW_HINT})"
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _checked_sockaddr(sock: socket.socket, address: Any) -> Any:
    """The address to connect to, resolved here when it is a name, so the checked address is
    the connected one. Unix sockets and other families pass untouched."""
    if sock.family not in _INET_FAMILIES or not isinstance(address, tuple):
        return address
    host, port = address[0], address[1]
    if not _is_ip(host):
        address = socket.getaddrinfo(host, port, sock.family, sock.type)[0][4]
    check_address(address[0])
    return address


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _original_connect(self, _checked_sockaddr(self, address))


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    return _original_connect_ex(self, _checked_sockaddr(self, address))


def install() -> None:
    """Checks every connection this process opens from now on. Idempotent."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    socket.socket.connect = _original_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _original_connect_ex  # type: ignore[method-assign]


@contextmanager
def guarded() -> Iterator[None]:
    """The guard for the length of a block (tests; the download process installs it for good)."""
    install()
    try:
        yield
    finally:
        uninstall()


class RefuseExternalDownloaders(PostProcessor):  # type: ignore[misc]
    """Refuses, before anything is downloaded, a format that yt-dlp would hand to an external
    program (ffmpeg for live HLS, rtmpdump, mpv...): its connections would escape the guard."""

    def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        for part in info.get("requested_formats") or [info]:
            downloader = get_suitable_downloader(dict(part), self._downloader.params)
            if isinstance(downloader, type) and issubclass(downloader, _EXTERNAL_DOWNLOADERS):
                raise ForbiddenTarget(
                    f"Refused to download {part.get('protocol')} media with "
                    f"{downloader.__name__}: connections opened by external programs cannot be "
                    f"checked ({ALLOW_HINT})"
                )
        return [], info
