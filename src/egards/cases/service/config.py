"""The cases' configuration: SLA policies and acknowledgement templates (loaded once per
file), the sender address, the attachment limit and the assignment strategy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from egards.cases.acknowledgement import AcknowledgementTemplates, load_acknowledgement_templates
from egards.cases.sla_config import SlaSettings, load_sla_config
from egards.config import Settings


@dataclass(frozen=True)
class CasesConfig:
    sla: SlaSettings
    ack: AcknowledgementTemplates
    mail_from: str = "service-client@egards.example"
    max_attachment_bytes: int = 5_000_000
    assignment: str = "least_loaded"
    time_zone: str = "Europe/Paris"
    public_exposure_audience: int = 10_000

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1]


@lru_cache(maxsize=8)
def _load(
    sla_file: Path | None, ack_dir: Path | None
) -> tuple[SlaSettings, AcknowledgementTemplates]:
    return load_sla_config(sla_file), load_acknowledgement_templates(ack_dir)


def config_from_settings(settings: Settings) -> CasesConfig:
    sla, ack = _load(settings.sla_file, settings.ack_templates_dir)
    return CasesConfig(
        sla=sla,
        ack=ack,
        mail_from=settings.mail_from,
        max_attachment_bytes=settings.max_attachment_bytes,
        assignment=settings.case_assignment,
        public_exposure_audience=settings.public_exposure_audience,
    )
