"""Fixtures of the enrolment tests: a browser client signed in as the coordinator."""
import pytest


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client
