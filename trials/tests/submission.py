"""Test helper: the one-time tokens of the forms on a page (`includes/submission_token.html`)."""
import re

TOKEN = re.compile(r'name="submission_token" value="([^"]*)"')


def form_tokens(client, url) -> list[str]:
    """The submission tokens of the forms on the page at `url`, in page order."""
    response = client.get(url)
    assert response.status_code == 200
    return TOKEN.findall(response.content.decode())


def form_token(client, url) -> str:
    """The submission token of the only form on the page at `url`."""
    tokens = form_tokens(client, url)
    assert len(tokens) == 1 and tokens[0]
    return tokens[0]


def messages_of(client, response) -> list[str]:
    """The messages shown on the page a redirect leads to."""
    return [str(message) for message in client.get(response["Location"]).context["messages"]]
