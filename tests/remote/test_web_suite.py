"""The web endpoint suite of ``tests/web``, run unchanged against ``digiregion serve --store <Virtuoso>``.

The test functions are imported from ``tests/web``; the fixtures they ask for (``served``,
``strict_server``, ``default_server``) resolve to the remote-backed servers of ``tests/remote/conftest.py``.
A new test in ``tests/web`` therefore runs against both backends without further work. Known, explained
deviations are marked in ``conftest.pytest_collection_modifyitems`` (``DEVIATIONS``).
"""

from tests.web.test_default_data import *  # noqa: F403
from tests.web.test_limits import *  # noqa: F403
from tests.web.test_linked_data import *  # noqa: F403
from tests.web.test_metadata import *  # noqa: F403
from tests.web.test_security import *  # noqa: F403
from tests.web.test_sparql_clients import *  # noqa: F403
from tests.web.test_w3c_protocol import *  # noqa: F403
