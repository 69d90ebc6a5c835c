// The account page's script: who is signed in, the passkeys (listed again every few seconds while
// a QR code is shown, and when the tab regains focus), removing one, "Add a device" as a QR code
// drawn here from the link (the code never goes back to the server), the link by email, and
// signing out. Every credential action answers SESSION-reauth-required with a fresh passkey check
// on the same session, then retries once. Names reach the DOM as text only.
(function () {
  "use strict";

  var P = window.PasskeyPages;
  var W = window.SimpleWebAuthnBrowser;
  var main = document.getElementById("account");
  var endpoint = new URL(main.getAttribute("data-graphql"), location.href).href;
  var signInUrl = new URL(main.getAttribute("data-sign-in"), location.href).href;
  var list = document.getElementById("passkeys");
  var qrPanel = document.getElementById("qr-panel");
  var qrCanvas = document.getElementById("qr-code");
  var qrExpiry = document.getElementById("qr-expiry");
  var actionButtons = ["add-device", "email-link", "sign-out"].map(function (id) {
    return document.getElementById(id);
  });
  var POLL_MS = 3000;
  var QR_MIN_CSS_PX = 256;
  var QR_QUIET_ZONE = 4;

  var ME = "query AccountMe { me { id username displayName } }";
  /** Richest first: fields other features add are asked for only where the schema has them. */
  var LIST = [
    "query AccountPasskeys($userId: ID!) { passkeys(userId: $userId) { id name createdAt backedUp lastUsedAt cloneWarning provider { name } } }",
    "query AccountPasskeys($userId: ID!) { passkeys(userId: $userId) { id name createdAt backedUp lastUsedAt cloneWarning } }",
    "query AccountPasskeys($userId: ID!) { passkeys(userId: $userId) { id name createdAt backedUp } }",
  ];
  var REMOVE = [
    "mutation AccountRemove($input: RemovePasskeyInput!) { removePasskey(input: $input) { signals { rpId userId allAcceptedCredentialIds name displayName } } }",
    "mutation AccountRemove($input: RemovePasskeyInput!) { removePasskey(input: $input) { details { sequence } } }",
  ];
  var ADD_LINK = "mutation AccountAddDevice { addPasskeyLink { link expiration } }";
  var SEND_LINK = "mutation AccountSendLink { sendPasskeyLink { details { sequence } } }";
  var CHALLENGE =
    "mutation AccountChallenge($input: SetSessionInput!) { setSession(input: $input) { sessionToken challenges { webAuthN { publicKeyCredentialRequestOptions } } } }";
  var CHECK =
    "mutation AccountCheck($input: SetSessionInput!) { setSession(input: $input) { sessionToken signals { rpId userId allAcceptedCredentialIds name displayName } } }";
  var SIGN_OUT =
    "mutation AccountSignOut($input: DeleteSessionInput!) { deleteSession(input: $input) { details { sequence } } }";

  var session = P.loadSession();
  var me = null;
  var passkeys = [];
  var known = null;
  var pollTimer = 0;
  var expiryTimer = 0;
  var chosen = {};

  function word(key) {
    var element = document.querySelector('#words [data-word="' + key + '"]');
    return element ? element.textContent : "";
  }

  /** Leaves for the sign-in page, with a message for it. */
  function leave(notice) {
    P.clearSession(notice);
    location.replace(signInUrl);
  }

  /** A call with the session token as the bearer; a refused token (401) ends the page's session. */
  function api(query, variables) {
    return P.graphql(endpoint, query, variables, session.sessionToken).catch(function (failure) {
      if (failure && (failure.status === 401 || failure.code === "UNAUTHENTICATED")) {
        leave("session_ended");
        throw { handled: true };
      }
      throw failure;
    });
  }

  /** The first of `queries` the server's schema accepts (remembered per list). */
  function adaptive(queries, variables) {
    var key = queries[0];
    var index = chosen[key] || 0;
    return api(queries[index], variables).catch(function (failure) {
      if (failure && failure.code === "GRAPHQL_VALIDATION_FAILED" && index + 1 < queries.length) {
        chosen[key] = index + 1;
        return adaptive(queries, variables);
      }
      throw failure;
    });
  }

  function rotate(token) {
    session.sessionToken = token;
    P.saveSession(session);
  }

  /** A fresh passkey check on this session: a new challenge, the prompt, setSession with it. */
  function reauthenticate() {
    P.show("reauth");
    return P.graphql(endpoint, CHALLENGE, {
      input: {
        sessionId: session.sessionId,
        sessionToken: session.sessionToken,
        challenges: { webAuthN: P.USER_VERIFICATION },
      },
    })
      .then(function (data) {
        rotate(data.setSession.sessionToken);
        var options =
          data.setSession.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;
        return W.startAuthentication({ optionsJSON: options }).catch(function (error) {
          throw { outcome: P.isCancelled(error) ? "reauth_failed" : "error" };
        });
      })
      .then(function (assertion) {
        return P.graphql(endpoint, CHECK, {
          input: {
            sessionId: session.sessionId,
            sessionToken: session.sessionToken,
            checks: { webAuthN: { credentialAssertionData: assertion } },
          },
        });
      })
      .then(function (data) {
        rotate(data.setSession.sessionToken);
        P.sendSignals(data.setSession.signals);
        P.show("working");
      });
  }

  /** Runs a credential action; when the server wants a fresh passkey check, does one and retries. */
  function withReauth(action) {
    return action().catch(function (failure) {
      if (!failure || failure.id !== "SESSION-reauth-required") throw failure;
      return reauthenticate().then(action);
    });
  }

  /** Disables the actions while one runs, and shows what came of it. */
  function run(action, failureOutcome) {
    actionButtons.forEach(function (button) {
      button.disabled = true;
    });
    P.show("working");
    return action()
      .catch(function (failure) {
        if (failure && failure.handled) return;
        P.show(outcomeOf(failure, failureOutcome));
      })
      .then(function () {
        actionButtons.forEach(function (button) {
          button.disabled = false;
        });
      });
  }

  function outcomeOf(failure, fallback) {
    if (!failure) return "error";
    if (failure.outcome) return failure.outcome;
    if (failure.id === "PASSKEY-last") return "last_passkey";
    if (failure.code === "RESOURCE_EXHAUSTED") return "rate_limited";
    if (failure.code === "FAILED_PRECONDITION" && fallback) return fallback;
    return "error";
  }

  function formatDate(iso) {
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang, {
        dateStyle: "medium",
        timeStyle: "short",
      }).format(new Date(iso));
    } catch {
      return iso;
    }
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function passkeyItem(passkey) {
    var item = element("li", "passkey");
    item.setAttribute("data-passkey-id", passkey.id);
    item.appendChild(element("p", "passkey-name", passkey.name));
    var facts = element("ul", "passkey-facts");
    if (passkey.provider && passkey.provider.name) {
      facts.appendChild(element("li", "", word("provider") + ": " + passkey.provider.name));
    }
    facts.appendChild(element("li", "", word(passkey.backedUp ? "synced" : "deviceBound")));
    facts.appendChild(element("li", "", word("added") + ": " + formatDate(passkey.createdAt)));
    if ("lastUsedAt" in passkey) {
      facts.appendChild(
        element(
          "li",
          "",
          passkey.lastUsedAt
            ? word("lastUsed") + ": " + formatDate(passkey.lastUsedAt)
            : word("neverUsed"),
        ),
      );
    }
    item.appendChild(facts);
    if (passkey.cloneWarning) {
      var warning = element("p", "warning", word("cloneWarning"));
      warning.setAttribute("role", "note");
      item.appendChild(warning);
    }
    var remove = element("button", "secondary remove", word("remove") + " ");
    remove.type = "button";
    // The visible text, plus the name for screen readers: "Remove “Phone”".
    remove.appendChild(element("span", "visually-hidden", "“" + passkey.name + "”"));
    remove.addEventListener("click", function () {
      removePasskey(passkey);
    });
    item.appendChild(remove);
    return item;
  }

  function render() {
    list.replaceChildren.apply(
      list,
      passkeys.length > 0 ? passkeys.map(passkeyItem) : [element("li", "empty", word("none"))],
    );
    list.setAttribute("aria-busy", "false");
  }

  /** Lists the passkeys again; one that was not there before ends the QR code's job. */
  function refresh() {
    if (!me) return Promise.resolve();
    return adaptive(LIST, { userId: me.id }).then(function (data) {
      passkeys = data.passkeys;
      var added = known
        ? passkeys.filter(function (passkey) {
            return !known[passkey.id];
          })
        : [];
      known = {};
      passkeys.forEach(function (passkey) {
        known[passkey.id] = true;
      });
      render();
      if (added.length > 0) {
        hideQr();
        P.show("passkey_added");
      }
    });
  }

  function quietRefresh() {
    refresh().catch(function () {});
  }

  function removePasskey(passkey) {
    if (!window.confirm(word("confirmRemove").replace("{name}", passkey.name))) return;
    var last = passkeys.length === 1;
    if (last && !window.confirm(word("confirmLast").replace("{name}", passkey.name))) return;
    var input = { userId: me.id, passkeyId: passkey.id };
    if (last) input.confirmLast = true;
    run(function () {
      return withReauth(function () {
        return adaptive(REMOVE, { input: input });
      }).then(function (data) {
        P.sendSignals(data.removePasskey.signals);
        return refresh().then(function () {
          P.show("removed");
        });
      });
    });
  }

  /** Draws `link` as a QR code: dark on light, 4 modules of quiet zone, at least 256 CSS px. */
  function drawQr(link) {
    var options = { errorCorrectionLevel: "M", margin: QR_QUIET_ZONE };
    var modules = window.QRCode.create(link, options).modules.size + 2 * QR_QUIET_ZONE;
    options.scale = Math.max(4, Math.ceil(QR_MIN_CSS_PX / modules));
    options.color = { dark: "#000000ff", light: "#ffffffff" };
    return window.QRCode.toCanvas(qrCanvas, link, options);
  }

  function showQr(payload) {
    return drawQr(payload.link).then(function () {
      var seconds = parseInt(payload.expiration, 10) || 0;
      var expires = new Date(Date.now() + seconds * 1000);
      qrExpiry.setAttribute("datetime", expires.toISOString());
      qrExpiry.textContent = formatDate(expires.toISOString());
      qrPanel.hidden = false;
      window.clearInterval(pollTimer);
      window.clearTimeout(expiryTimer);
      pollTimer = window.setInterval(quietRefresh, POLL_MS);
      expiryTimer = window.setTimeout(hideQr, seconds * 1000);
      P.show("link_ready");
    });
  }

  /** Hides and wipes the code: once used, expired or replaced it is of no use. */
  function hideQr() {
    window.clearInterval(pollTimer);
    window.clearTimeout(expiryTimer);
    qrPanel.hidden = true;
    var context = qrCanvas.getContext("2d");
    context.clearRect(0, 0, qrCanvas.width, qrCanvas.height);
    qrCanvas.width = 0;
    qrCanvas.height = 0;
  }

  function addDevice() {
    run(function () {
      return withReauth(function () {
        return api(ADD_LINK, {});
      }).then(function (data) {
        return showQr(data.addPasskeyLink);
      });
    }, "link_failed");
  }

  function emailLink() {
    run(function () {
      return withReauth(function () {
        return api(SEND_LINK, {});
      }).then(function () {
        // A new link from this session revokes the one the QR code carried.
        hideQr();
        P.show("link_sent");
      });
    }, "link_failed");
  }

  function signOut() {
    hideQr();
    var input = { sessionId: session.sessionId, sessionToken: session.sessionToken };
    api(SIGN_OUT, { input: input })
      .catch(function () {})
      .then(function () {
        leave("signed_out");
      });
  }

  function start() {
    api(ME, {})
      .then(function (data) {
        me = data.me;
        document.getElementById("display-name").textContent = me.displayName || me.username;
        document.getElementById("login-name").textContent =
          me.displayName && me.displayName !== me.username ? "(" + me.username + ")" : "";
        document.getElementById("who").hidden = false;
        return refresh();
      })
      .then(function () {
        P.show("idle");
      })
      .catch(function (failure) {
        if (!failure || !failure.handled) P.show("error");
      });
    document.getElementById("add-device").addEventListener("click", addDevice);
    document.getElementById("email-link").addEventListener("click", emailLink);
    document.getElementById("qr-close").addEventListener("click", hideQr);
    document.getElementById("sign-out").addEventListener("click", signOut);
    window.addEventListener("focus", quietRefresh);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") quietRefresh();
    });
  }

  if (!session) {
    location.replace(signInUrl);
    return;
  }
  start();
})();
