"""Use cases of the social feature: profiles and their audience, mentions from the signed
webhook (through the cases' ``social_sender`` and ``social_case_opened`` hooks) and from
network exports, deterministic links to the customer file, the review queue, the GDPR hooks,
and the influence-vs-value figures. Each takes a session and only flushes.

The package re-exports what other modules use, so ``from egards.social import service`` and
``service.link_profile(...)`` keep working, and so do the hooks read by ``features.hooks``.
"""

from __future__ import annotations

from egards.social.service.arrival import kept_model, link_on_arrival
from egards.social.service.duplicates import decide_duplicate, duplicates_queue, find_duplicates
from egards.social.service.links import (
    _evidence,
    _link,
    decide_review,
    link_deterministically,
    link_profile,
    propose_link,
    review_queue,
    unlink_profile,
)
from egards.social.service.mentions import (
    LISTENER,
    _record_mention,
    already_opened,
    analyse_mention,
    inbound_message_received,
    is_stored,
    social_case_opened,
    social_sender,
)
from egards.social.service.network_exports import (
    ALIASES,
    IMPORT_FIELDS,
    ImportReport,
    _row_mention,
    import_export,
    import_row,
    read_export,
)
from egards.social.service.privacy import erase_customer_data, export_section
from egards.social.service.probabilistic import (
    _CUSTOMERS_SQL,
    LinkRun,
    link_probabilistically,
    link_with_settings,
)
from egards.social.service.profiles import (
    LINKER,
    audience_history,
    customer_audience,
    find_profile,
    get_profile,
    profile,
    profiles_of,
    upsert_profile,
)
from egards.social.service.reports import influence_vs_value
from egards.social.service.retraining import (
    current_m,
    current_model,
    retrain,
    review_outcomes,
)

__all__ = [
    "ALIASES",
    "IMPORT_FIELDS",
    "LINKER",
    "LISTENER",
    "_CUSTOMERS_SQL",
    "ImportReport",
    "LinkRun",
    "_evidence",
    "_link",
    "_record_mention",
    "_row_mention",
    "already_opened",
    "analyse_mention",
    "audience_history",
    "current_m",
    "current_model",
    "customer_audience",
    "decide_duplicate",
    "decide_review",
    "duplicates_queue",
    "erase_customer_data",
    "export_section",
    "find_duplicates",
    "find_profile",
    "get_profile",
    "import_export",
    "import_row",
    "inbound_message_received",
    "influence_vs_value",
    "is_stored",
    "kept_model",
    "link_deterministically",
    "link_on_arrival",
    "link_probabilistically",
    "link_profile",
    "link_with_settings",
    "profile",
    "profiles_of",
    "propose_link",
    "read_export",
    "retrain",
    "review_outcomes",
    "review_queue",
    "social_case_opened",
    "social_sender",
    "unlink_profile",
    "upsert_profile",
]
