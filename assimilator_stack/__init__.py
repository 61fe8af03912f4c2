"""assimilator_stack: Repository, Unit of Work, Specification and LazyCommand over Redis Stack."""

from .aio import (
    AsyncInternalRepository,
    AsyncInternalUnitOfWork,
    AsyncLazyCommand,
    AsyncRedisRepository,
    AsyncRedisUnitOfWork,
    AsyncRepository,
    AsyncUnitOfWork,
    async_retry_on_conflict,
)
from .core.hits import Hit
from .core.lazy import LazyCommand
from .core.repository import Repository
from .core.specs import (
    FilterSpecification,
    JoinSpecification,
    OnlySpecification,
    OrderSpecification,
    PaginateSpecification,
    SearchSpecification,
    Specification,
    SpecificationList,
    filter_,
    join,
    only,
    order,
    paginate,
    search,
)
from .core.unit_of_work import UnitOfWork
from .exceptions import (
    AlreadyExistsError,
    ConcurrencyError,
    ConnectionFailedError,
    DataLayerError,
    IndexNotReadyError,
    InvalidDocumentError,
    InvalidEntityError,
    InvalidQueryError,
    MultipleResultsError,
    NotFoundError,
    PartialResultError,
    ReadOnlyEntityError,
    RedisCommandError,
    UnindexedDocumentError,
    UnitOfWorkError,
    UnstorableValueError,
    UpdateTargetMissingError,
)
from .internal.repository import InternalRepository
from .internal.unit_of_work import InternalUnitOfWork
from .markers import Indexed, NotIndexed, Text
from .model import AssimilatorConfig, RedisModel
from .redis_.health import IndexStatus, UnindexedDocument
from .redis_.repository import RedisRepository
from .redis_.unit_of_work import RedisUnitOfWork
from .retry import retry_on_conflict

__all__ = [
    "AlreadyExistsError",
    "AssimilatorConfig",
    "AsyncInternalRepository",
    "AsyncInternalUnitOfWork",
    "AsyncLazyCommand",
    "AsyncRedisRepository",
    "AsyncRedisUnitOfWork",
    "AsyncRepository",
    "AsyncUnitOfWork",
    "ConcurrencyError",
    "ConnectionFailedError",
    "DataLayerError",
    "FilterSpecification",
    "Hit",
    "IndexNotReadyError",
    "IndexStatus",
    "Indexed",
    "InternalRepository",
    "InternalUnitOfWork",
    "InvalidDocumentError",
    "InvalidEntityError",
    "InvalidQueryError",
    "JoinSpecification",
    "LazyCommand",
    "MultipleResultsError",
    "NotFoundError",
    "NotIndexed",
    "OnlySpecification",
    "OrderSpecification",
    "PaginateSpecification",
    "PartialResultError",
    "ReadOnlyEntityError",
    "RedisCommandError",
    "RedisModel",
    "RedisRepository",
    "RedisUnitOfWork",
    "Repository",
    "SearchSpecification",
    "Specification",
    "SpecificationList",
    "Text",
    "UnindexedDocument",
    "UnindexedDocumentError",
    "UnitOfWork",
    "UnitOfWorkError",
    "UnstorableValueError",
    "UpdateTargetMissingError",
    "async_retry_on_conflict",
    "filter_",
    "join",
    "only",
    "order",
    "paginate",
    "retry_on_conflict",
    "search",
]
