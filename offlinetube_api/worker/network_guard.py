"""The SSRF guard of the download process: every connection the process opens (every
`connect()` on an IPv4 or IPv6 socket) is checked against the address it really connects to,
after DNS resolution, and no program that would open connections of its own is started.

Installed by the download process itself before yt-dlp starts, so the page, its redirects, the
media, thumbnails and subtitles all pass through it, whatever library opens the socket. A name is
resolved here and the checked address is the one connected to, so a public name that resolves to
127.0.0.1 (or is rebound to it between two lookups) is refused.

The refused addresses, in the order that names the refusal (`_BLOCKED`; the README points here):
- cloud metadata services: 169.254.169.254 (AWS, GCP, Azure, OpenStack...), 169.254.170.2
  (AWS ECS), 168.63.129.16 (Azure WireServer, a public address), 100.100.100.200 (Alibaba),
  fd00:ec2::254 (AWS over IPv6);
- unspecified (0.0.0.0, ::), loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, fe80::/10),
  multicast, unique-local (fc00::/7), carrier-grade NAT (100.64.0.0/10), private (RFC 1918),
  reserved (240.0.0.0/4...), and anything else Python does not call global (documentation,
  benchmarking, IETF protocol ranges such as Teredo's 2001::/32...).
IPv6 addresses that carry an IPv4 address are judged by it: IPv4-mapped (::ffff:a.b.c.d) and
NAT64 (64:ff9b::/96) by the IPv4 address alone; 6to4 (2002::/16) and Teredo (2001::/32, server
and client) by the IPv4 addresses and by the IPv6 address itself.
`OFFLINETUBE_ALLOW_PRIVATE_NETWORKS` lets named addresses or networks through all of this.

External programs: ffmpeg, rtmpdump and the other external downloaders open sockets this guard
cannot see, so with the guard installed yt-dlp may not start one (`install` makes them refuse),
whether it chose one for a format, fell back to ffmpeg for an HLS playlist its own downloader
cannot read (SAMPLE-AES, live) or wanted one for subtitles. Downloads are kept in-process
(`IN_PROCESS_OPTIONS`), and ffmpeg's post-processing runs admit local files only (see
`offlinetube_api.ffmpeg.LOCAL_FILES_ONLY`). The JavaScript runtime (Deno) yt-dlp solves a
site's challenges with may start: yt-dlp runs it without any `--allow-*` permission and with
`--no-remote --cached-only`, so it can open no connection, and no `remote_components` option
ever lets it fetch yt-dlp-ejs's npm packages (see `offlinetube_api.js_runtime`).

What it does NOT cover:
- sockets opened in C below Python (curl_cffi, if it is ever installed);
- a proxy: with OFFLINETUBE_PROXY (or HTTP(S)_PROXY) set, the proxy is checked, not the address
  it forwards to;
- datagrams sent with `sendto()` on an unconnected UDP socket (nothing in yt-dlp does this).
"""

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from yt_dlp.downloader.external import ExternalFD
from yt_dlp.downloader.rtmp import RtmpFD

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HINT = "set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow"

# yt-dlp's own downloaders for HLS and DASH, so their connections go through the guard.
IN_PROCESS_OPTIONS: dict[str, Any] = {"external_downloader": {"default": "native"}}

_CLOUD_METADATA = frozenset(
    map(
        ipaddress.ip_address,
        ("169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "fd00:ec2::254"),
    )
)
_RFC1918 = tuple(map(ipaddress.IPv4Network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")))
_CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the last 32 bits are an IPv4 address
_INET_FAMILIES = (socket.AF_INET, socket.AF_INET6)
# Downloaders that run another program: its sockets are out of the guard's sight.
_EXTERNAL_DOWNLOADERS: tuple[type[Any], ...] = (ExternalFD, RtmpFD)  # RtmpFD runs rtmpdump

# Checked in order; the first that matches names the refusal.
_BLOCKED: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("cloud metadata", lambda ip: ip in _CLOUD_METADATA),
    ("unspecified", lambda ip: ip.is_unspecified),
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
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


def _judged(ip: IPAddress) -> tuple[IPAddress, ...]:
    """The addresses a connection to `ip` is judged by: the IPv4 address an IPv4-mapped or NAT64
    address translates to; the IPv4 addresses a 6to4 or Teredo address tunnels to, and itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return (ip.ipv4_mapped,)
        if ip in _NAT64:
            return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
        if ip.sixtofour is not None:
            return (ip.sixtofour, ip)
        if ip.teredo is not None:
            return (*ip.teredo, ip)
    return (ip,)


def refusal_reason(address: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why a connection to this IP address is refused, or None when it is public or inside one
    of the `allowed` networks."""
    ip = ipaddress.ip_address(address)
    judged = _judged(ip)
    if any(candidate in network for candidate in (ip, *judged) for network in allowed):
        return None
    return next(
        (label for candidate in judged for label, blocked in _BLOCKED if blocked(candidate)), None
    )


def check_address(address: str, allowed: Sequence[IPNetwork] = ()) -> None:
    reason = refusal_reason(address, allowed)
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


def _checked_sockaddr(sock: socket.socket, address: Any, allowed: Sequence[IPNetwork]) -> Any:
    """The address to connect to, resolved here when it is a name, so the checked address is
    the connected one. Unix sockets and other families pass untouched."""
    if sock.family not in _INET_FAMILIES or not isinstance(address, tuple):
        return address
    host, port = address[0], address[1]
    if not _is_ip(host):
        address = socket.getaddrinfo(host, port, sock.family, sock.type)[0][4]
    check_address(address[0], allowed)
    return address


_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_real_download = {cls: cls.real_download for cls in _EXTERNAL_DOWNLOADERS}


def _refuse_external_program(downloader: Any, filename: str, info: dict[str, Any]) -> NoReturn:
    raise ForbiddenTarget(
        f"Refused to download {info.get('protocol')} media with {type(downloader).__name__}: "
        f"connections opened by external programs cannot be checked ({ALLOW_HINT})"
    )


def install(allowed: Sequence[IPNetwork] = ()) -> None:
    """Checks every connection this process opens from now on, letting `allowed` networks
    through, and makes yt-dlp's external downloaders refuse to start. Idempotent."""

    def connect(sock: socket.socket, address: Any) -> None:
        _original_connect(sock, _checked_sockaddr(sock, address, allowed))

    def connect_ex(sock: socket.socket, address: Any) -> int:
        return _original_connect_ex(sock, _checked_sockaddr(sock, address, allowed))

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    for downloader in _EXTERNAL_DOWNLOADERS:
        downloader.real_download = _refuse_external_program


def uninstall() -> None:
    socket.socket.connect = _original_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _original_connect_ex  # type: ignore[method-assign]
    for downloader, real_download in _original_real_download.items():
        downloader.real_download = real_download


@contextmanager
def guarded(allowed: Sequence[IPNetwork] = ()) -> Iterator[None]:
    """The guard for the length of a block (tests; the download process installs it for good)."""
    install(allowed)
    try:
        yield
    finally:
        uninstall()
