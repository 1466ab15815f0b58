"""Use cases of the customer file. Each takes a session and an actor, and only flushes.

A package of modules named for what they do; this module re-exports what callers use
(``from egards.customers import service``), the GDPR hooks read by ``features.hooks``
included, and ``Customer``, the entity its readers return (for other features' annotations:
they read customers through these functions, never the tables).
"""

from __future__ import annotations

from egards.customers.models import Customer
from egards.customers.service.access import (
    PROFILE_FIELDS,
    _jsonable,
    _shareable,
    _visible_to,
    _writable,
    check_visible,
    get_by_id,
    get_customer,
    holders_of_identity,
    identity_values,
    ids_by_external_id,
    names,
    owner_of_identity,
    primary_email,
    snapshot,
    statuses,
)
from egards.customers.service.merging import (
    _MOVABLE,
    list_merges,
    merge_customers,
    merged_with,
    survivor,
    unmerge,
)
from egards.customers.service.privacy import (
    _erasure_of,
    _rows,
    erase_customer,
    erase_customer_data,
    export_customer,
)
from egards.customers.service.profiles import (
    _ensure_identity_free,
    _identity_rows,
    add_identity,
    assign_organisation,
    consent_history,
    create_customer,
    current_consents,
    record_consent,
    remove_identity,
    update_customer,
)
from egards.customers.service.search import (
    _prefix,
    sample_active,
    search_customers,
)
from egards.customers.service.timeline import (
    _timeline,
    add_note,
    add_timeline_event,
    list_notes,
    list_timeline,
    record_change,
    record_event,
)

__all__ = [
    "PROFILE_FIELDS",
    "_MOVABLE",
    "Customer",
    "_ensure_identity_free",
    "_erasure_of",
    "_identity_rows",
    "_jsonable",
    "_prefix",
    "_rows",
    "_shareable",
    "_timeline",
    "_visible_to",
    "_writable",
    "add_identity",
    "add_note",
    "add_timeline_event",
    "assign_organisation",
    "check_visible",
    "consent_history",
    "create_customer",
    "current_consents",
    "erase_customer",
    "erase_customer_data",
    "export_customer",
    "get_by_id",
    "get_customer",
    "holders_of_identity",
    "identity_values",
    "ids_by_external_id",
    "list_merges",
    "list_notes",
    "list_timeline",
    "merge_customers",
    "merged_with",
    "names",
    "owner_of_identity",
    "primary_email",
    "record_change",
    "record_consent",
    "record_event",
    "remove_identity",
    "sample_active",
    "search_customers",
    "snapshot",
    "statuses",
    "survivor",
    "unmerge",
    "update_customer",
]
