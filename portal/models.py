"""Every table of the portal, by area, in one place: Alembic's autogenerate and the migration
tests compare this metadata with the migrations, and scripts and tests may import any model from here.
Each model lives with its area (portal/<area>/models.py)."""
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.core.db import Base, make_sessionmaker  # noqa: F401
from portal.accounts.models import (  # noqa: F401
    PartnerTier, PartnerStatus, Segment, LifecycleStatus, PhaseReason, partner_managers, Partner, Account, AccountArr,
)
from portal.auth.models import (  # noqa: F401
    Role, VENDOR_ROLES, PARTNER_ROLES, User, normalise_email, ThrottleScope, LoginThrottle, LOCKED_OUT_PARTNER_STATUSES,
)
from portal.reporting.models import (  # noqa: F401
    Sentiment, RenewalLikelihood, RiskType, Severity, VocKind, StakeholderRole, MilestoneStatus, ReportSource, ReportingCadence, ReportingSettings, OwedCheckIn, OwedStamp, Feature, MilestoneTemplate, Milestone, CheckIn, check_in_features, CheckInFeature, CheckInRisk, VocItem, Stakeholder, ChangeLog, ImportBatch,
)
from portal.reporting.models import IMPORT_JOB_STATUSES, IMPORT_STATUSES, ProductArea, VocStatus  # noqa: F401
from portal.api.models import (  # noqa: F401
    ApiToken, IdempotencyRecord,
)
from portal.scoring.models import (  # noqa: F401
    Band, HealthModel, AccountScore, PartnerScorecard, AggregationDay, AggregationRequest, AggregationRun, AlertKind, Alert, TierRule,
    ModelFit,
)
from portal.actions.models import (  # noqa: F401
    ActionStatus, OPEN_ACTION_STATUSES, ActionItem, ActionComment, ActionKind, AutoResolution, ActionStep, Playbook,
    PlaybookStep, ActionEventKind, ActionEvent,
)
from portal.timeline.models import NoteKind, AccountNote  # noqa: F401
from portal.email.models import (  # noqa: F401
    EmailKind, DeliveryStatus, OutboxMessage, Notification,
)
from portal.audit.models import (  # noqa: F401
    AuditAction, AuditEvent,
)
from portal.renewals.models import (  # noqa: F401
    ChurnReason, OutcomeKind, RenewalOutcome,
)
from portal.core.changes import DataChange  # noqa: F401,E402
from portal.accounts.models import record_arr_changes  # noqa: E402


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for the web, the CLI and the scheduler, with the model events they all need
    (the ARR history of accounts), on the portal's sessions only, not on every Session in the process."""
    factory = make_sessionmaker(engine)
    event.listen(factory, "before_flush", record_arr_changes)
    return factory
