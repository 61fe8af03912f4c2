"""The abstract Repository: what user code depends on, whatever stores the entities."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .specs import SpecificationList

M = TypeVar("M", bound=BaseModel)


class Repository(ABC, Generic[M]):
    """Saves, reads, updates, deletes, checks and filters entities of one model."""

    specs: type[SpecificationList] = SpecificationList

    def __init__(self, session: Any, model: type[M]) -> None:
        self.session = session
        self.model = model

    @abstractmethod
    def get(self, *specs: Any, lazy: bool = False) -> Any: ...

    @abstractmethod
    def filter(self, *specs: Any, lazy: bool = False) -> Any: ...

    @abstractmethod
    def save(self, obj: Any = None, **fields: Any) -> Any: ...

    @abstractmethod
    def update(self, obj: Any = None, *specs: Any, **values: Any) -> Any: ...

    @abstractmethod
    def delete(self, obj: Any = None, *specs: Any) -> Any: ...

    @abstractmethod
    def refresh(self, obj: M) -> Any: ...

    @abstractmethod
    def is_modified(self, obj: M) -> Any: ...

    @abstractmethod
    def count(self, *specs: Any, lazy: bool = False) -> Any: ...
