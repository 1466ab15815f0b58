"""Use cases of cases and listening. Each takes a session, an actor and ``now``; only flushes.

Every change recomputes the case's SLA columns (``refresh_sla``) from its status history, so
that sweeps, the inbox and the "no silence" view read stored, indexed values.

The package re-exports what other modules use, so ``from egards.cases import service`` and
``service.open_case(...)`` keep working, and so do the GDPR hooks read by ``features.hooks``.
"""

from __future__ import annotations

from egards.cases.intake import TEAMS
from egards.cases.service._common import OPEN_STATUSES, PAUSED, SHARED_WITH_PARTNER, SILO_OF_TEAM
from egards.cases.service.config import CasesConfig, _load, config_from_settings
from egards.cases.service.inputs import AttachmentIn, CaseDetails, InboundIn, Opened
from egards.cases.service.messages import add_inbound, add_note, reply
from egards.cases.service.notices import ACK_KEY
from egards.cases.service.opening import open_case
from egards.cases.service.privacy import erase_customer_data, export_section
from egards.cases.service.queries import (
    Delivery,
    _fired_keys,
    assignable_agents,
    attachment,
    case_facts,
    case_ids_of,
    cases_without,
    count_recent_cases,
    deliveries,
    display_names,
    escalations,
    get_case,
    links,
    list_cases,
    message_sender,
    queue_order,
    status_history,
    team_of,
    thread,
    unreadable_messages,
)
from egards.cases.service.reports import backlog, report_figures, report_rows
from egards.cases.service.silence import (
    COUNTER_SHARDS,
    OVERDUE,
    WAITING,
    CustomerColumns,
    SilenceRow,
    SilenceView,
    _counter,
    customer_columns,
    no_silence,
    recount,
)
from egards.cases.service.sla import case_clocks, read_clocks, refresh_sla
from egards.cases.service.standing import standing_of, standings
from egards.cases.service.sweep import WORKER, SweepReport, flag_states, sweep
from egards.cases.service.webhooks import remember_webhook
from egards.cases.service.workflow import (
    assign,
    change_status,
    link_cases,
    link_customer,
    record_satisfaction,
    set_agent_profile,
    suggest_customers,
    update_case,
)

__all__ = [
    "ACK_KEY",
    "COUNTER_SHARDS",
    "OPEN_STATUSES",
    "OVERDUE",
    "PAUSED",
    "SHARED_WITH_PARTNER",
    "SILO_OF_TEAM",
    "TEAMS",
    "WAITING",
    "WORKER",
    "AttachmentIn",
    "CaseDetails",
    "CasesConfig",
    "CustomerColumns",
    "Delivery",
    "InboundIn",
    "Opened",
    "SilenceRow",
    "SilenceView",
    "SweepReport",
    "_counter",
    "_fired_keys",
    "_load",
    "add_inbound",
    "add_note",
    "assign",
    "assignable_agents",
    "attachment",
    "backlog",
    "case_clocks",
    "case_facts",
    "case_ids_of",
    "cases_without",
    "change_status",
    "config_from_settings",
    "count_recent_cases",
    "customer_columns",
    "deliveries",
    "display_names",
    "erase_customer_data",
    "escalations",
    "export_section",
    "flag_states",
    "get_case",
    "link_cases",
    "link_customer",
    "links",
    "list_cases",
    "message_sender",
    "no_silence",
    "open_case",
    "queue_order",
    "read_clocks",
    "record_satisfaction",
    "recount",
    "refresh_sla",
    "remember_webhook",
    "reply",
    "report_figures",
    "report_rows",
    "set_agent_profile",
    "standing_of",
    "standings",
    "status_history",
    "suggest_customers",
    "sweep",
    "team_of",
    "thread",
    "unreadable_messages",
    "update_case",
]
