"""Test helpers: an embedded Redis Stack server and a pytest plugin (see ``pytest_plugin``)."""

from assimilator_stack.testing.binaries import ServerNotAvailableError
from assimilator_stack.testing.server import RedisStackServer, ServerStartupError

__all__ = ["RedisStackServer", "ServerNotAvailableError", "ServerStartupError"]
