"""Root conftest: make sure the assimilator_stack pytest plugin is active.

The plugin (``assimilator_stack.testing.pytest_plugin``) is normally loaded by pytest itself
through the ``pytest11`` entry point of the installed package (``pip install -e
".[server,test,dev]"``). It is *not* listed in ``pytest_plugins`` here, because that would
register the module a second time next to the entry point. It is only registered below when
the entry point did not load it: the package is not installed (tests run from a source tree)
or plugin autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``).
"""

from __future__ import annotations

import importlib

import pytest

PLUGIN_MODULE = "assimilator_stack.testing.pytest_plugin"


def pytest_configure(config: pytest.Config) -> None:
    plugin = importlib.import_module(PLUGIN_MODULE)
    if not config.pluginmanager.is_registered(plugin):
        config.pluginmanager.register(plugin, "assimilator_stack")
