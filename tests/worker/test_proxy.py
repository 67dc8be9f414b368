"""OFFLINETUBE_PROXY: downloads, GET /api/info and subscription listings go through the proxy
the page's site is given (a real forward proxy on 127.0.0.2, before the fixture site on
127.0.0.1), and the SSRF guard then checks the proxy's address, not the page's."""

import pytest

from offlinetube_api.subscriptions.listing import Listing, ListingJob
from offlinetube_api.subscriptions.listing_child import list_entries
from tests.api.routes.test_info import info
from tests.api.routes.test_subscriptions import _channel
from tests.fixtures.forward_proxy import PROXY_HOST, ForwardProxy
from tests.fixtures.service import ServiceFactory
from tests.fixtures.site import FixtureSite


def test_a_download_goes_through_the_proxy(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy
) -> None:
    service = make_service(proxy=proxy.url)
    page = site.page_url(video=site.url("/media/clip.mp4"), thumb=site.url("/media/thumb.jpg"))

    task = service.download_and_wait(page)

    assert (task["status"], task["error"]) == ("completed", None)
    # The page, the video and the thumbnail were all fetched through it.
    assert page in proxy.requests
    assert site.url("/media/clip.mp4") in proxy.requests
    assert site.url("/media/thumb.jpg") in proxy.requests


def test_the_guard_checks_the_proxy_address_and_refuses_a_blocked_one(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy
) -> None:
    """The page's own address (127.0.0.1) is admitted; the proxy's (127.0.0.2) is not."""
    service = make_service(
        allow_private_urls=False, allow_private_networks=["127.0.0.1"], proxy=proxy.url
    )

    task = service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))

    assert (task["status"], task["error_kind"], task["attempts"]) == (
        "failed",
        "forbidden_target",
        1,
    )
    assert task["error"] == (
        f"Refused to connect to {PROXY_HOST}: loopback addresses are blocked "
        "(set OFFLINETUBE_ALLOW_PRIVATE_URLS=true to allow)"
    )
    assert proxy.requests == []


def test_the_guard_admits_the_proxy_and_leaves_the_target_to_it(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy
) -> None:
    """Only the proxy's address is admitted: the download process never connects to the page's
    (refused without the proxy), so what the proxy forwards to is the proxy's to allow."""
    service = make_service(
        allow_private_urls=False, allow_private_networks=[PROXY_HOST], proxy=proxy.url
    )
    page = site.page_url(video=site.url("/media/clip.mp4"))

    task = service.download_and_wait(page)

    assert (task["status"], task["error"]) == ("completed", None)
    assert page in proxy.requests


@pytest.mark.stores("sqlite")
def test_per_site_rules_send_only_their_site_through_the_proxy(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy
) -> None:
    """The fixture site is 127.0.0.1 by address and `localhost` by name: one rule each."""
    service = make_service(proxy=f"localhost={proxy.url},*=direct")
    direct = site.page_url(video=site.url("/media/clip.mp4"), title="direct")
    proxied = direct.replace("127.0.0.1", "localhost").replace("title=direct", "title=proxied")

    assert service.download_and_wait(direct)["status"] == "completed"
    assert proxy.requests == []
    assert service.download_and_wait(proxied)["status"] == "completed"
    assert proxied in proxy.requests


def test_info_reads_the_page_through_the_proxy(
    make_service: ServiceFactory, site: FixtureSite, proxy: ForwardProxy
) -> None:
    service = make_service(proxy=proxy.url)
    page = site.page_url(video=site.url("/media/clip.mp4"), title="Through the proxy")

    assert info(service, page)["title"] == "Through the proxy"
    assert page in proxy.requests


def test_a_subscription_listing_goes_through_the_proxy(
    site: FixtureSite, proxy: ForwardProxy
) -> None:
    feed = site.channel_url(_channel(site, 2))

    listing = list_entries(ListingJob(url=feed, max_entries=10, proxy=proxy.url))

    assert isinstance(listing, Listing) and len(listing.videos) == 2
    assert proxy.requests == [feed]
