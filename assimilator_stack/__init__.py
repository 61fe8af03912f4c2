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
from .backends.memory.repository import InternalRepository
from .backends.memory.unit_of_work import InternalUnitOfWork
from .backends.redis.health import IndexStatus, UnindexedDocument
from .backends.redis.index_control import AsyncRedisIndex, RedisIndex
from .backends.redis.lifecycle import IndexState, PruneResult, StaleIndex
from .backends.redis.sync_repository import RedisRepository
from .backends.redis.sync_unit_of_work import RedisUnitOfWork
from .core.hits import Hit
from .core.lazy import LazyCommand
from .core.metrics import Avg, Count, CountDistinct, Max, Metric, Min, Sum
from .core.repository import Repository
from .core.retry import retry_on_conflict
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
from .markers import Indexed, NotIndexed, Text
from .model import AssimilatorConfig, RedisModel

__all__ = [
    "AlreadyExistsError",
    "AssimilatorConfig",
    "AsyncInternalRepository",
    "AsyncInternalUnitOfWork",
    "AsyncLazyCommand",
    "AsyncRedisIndex",
    "AsyncRedisRepository",
    "AsyncRedisUnitOfWork",
    "AsyncRepository",
    "AsyncUnitOfWork",
    "Avg",
    "ConcurrencyError",
    "ConnectionFailedError",
    "Count",
    "CountDistinct",
    "DataLayerError",
    "FilterSpecification",
    "Hit",
    "IndexNotReadyError",
    "IndexState",
    "IndexStatus",
    "Indexed",
    "InternalRepository",
    "InternalUnitOfWork",
    "InvalidDocumentError",
    "InvalidEntityError",
    "InvalidQueryError",
    "JoinSpecification",
    "LazyCommand",
    "Max",
    "Metric",
    "Min",
    "MultipleResultsError",
    "NotFoundError",
    "NotIndexed",
    "OnlySpecification",
    "OrderSpecification",
    "PaginateSpecification",
    "PartialResultError",
    "PruneResult",
    "ReadOnlyEntityError",
    "RedisCommandError",
    "RedisIndex",
    "RedisModel",
    "RedisRepository",
    "RedisUnitOfWork",
    "Repository",
    "SearchSpecification",
    "Specification",
    "SpecificationList",
    "StaleIndex",
    "Sum",
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
