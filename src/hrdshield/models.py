"""Import every domain's tables so that ``Base.metadata`` is complete (for Alembic and tests)."""

from hrdshield.accounts import models as accounts_models
from hrdshield.bus import models as bus_models
from hrdshield.cases import models as cases_models
from hrdshield.cases import (
    oncall_models,  # noqa: F401  (registers tables)
    retention_models,  # noqa: F401  (registers tables)
)
from hrdshield.cases.evidence import models as evidence_models  # noqa: F401  (registers tables)
from hrdshield.defenders import models as defenders_models
from hrdshield.demo_platform import models as demo_platform_models
from hrdshield.detection import models as detection_models
from hrdshield.exchange import models as exchange_models
from hrdshield.guides import models as guides_models
from hrdshield.notify import models as notify_models
from hrdshield.protection import models as protection_models
from hrdshield.security import models as security_models

__all__ = [
    "accounts_models",
    "bus_models",
    "cases_models",
    "defenders_models",
    "demo_platform_models",
    "detection_models",
    "exchange_models",
    "guides_models",
    "notify_models",
    "protection_models",
    "security_models",
]
