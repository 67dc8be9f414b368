"""The subscription parts of a core, the same in both modes but for their store and schedule."""

from offlinetube_api.config import Settings
from offlinetube_api.ports import Downloads
from offlinetube_api.programs import Programs
from offlinetube_api.subscriptions.checks import SubscriptionChecker
from offlinetube_api.subscriptions.listing import ListingJob
from offlinetube_api.subscriptions.ports import SubscriptionStore


def subscription_checker(
    store: SubscriptionStore, *, downloads: Downloads, settings: Settings, programs: Programs
) -> SubscriptionChecker:
    """Checks that list sources as the settings say, behind the SSRF guard as downloads are."""

    def job_for(url: str) -> ListingJob:
        return ListingJob(
            url=url,
            max_entries=settings.subscription_max_entries,
            js_runtime=programs.js_runtime,
            allow_private_urls=settings.allow_private_urls,
            allowed_networks=tuple(map(str, settings.allow_private_networks)),
            proxy=settings.proxy_for(url),
        )

    return SubscriptionChecker(
        subscriptions=store,
        downloads=downloads,
        job_for=job_for,
        listing_timeout_s=settings.subscription_listing_timeout,
    )
