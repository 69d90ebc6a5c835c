// The sign-in page's script. On load it offers passkeys through the browser's autofill (where
// supported); the button starts a modal prompt, which cancels a pending autofill request (the
// library's abort service aborts the previous ceremony when a new one starts). A username typed
// before pressing the button is sent as checks.user.loginName (username-first). On success the
// session goes to this tab's sessionStorage and the page opens the account page.
(function () {
  "use strict";

  var P = window.PasskeyPages;
  var W = window.SimpleWebAuthnBrowser;
  var form = document.getElementById("sign-in");
  var button = document.getElementById("sign-in-button");
  var usernameInput = document.getElementById("username");
  var endpoint = new URL(form.getAttribute("data-graphql"), location.href).href;
  var accountUrl = new URL(form.getAttribute("data-account"), location.href).href;
  var lifetime = form.getAttribute("data-lifetime") + "s";

  var CREATE =
    "mutation SignInStart($input: CreateSessionInput!) { createSession(input: $input) { sessionId sessionToken challenges { webAuthN { publicKeyCredentialRequestOptions } } } }";
  var CHECK =
    "mutation SignInCheck($input: SetSessionInput!) { setSession(input: $input) { sessionToken signals { rpId userId allAcceptedCredentialIds name displayName } } }";
  var ABANDON =
    "mutation SignInAbandon($input: DeleteSessionInput!) { deleteSession(input: $input) { details { sequence } } }";

  var OUTCOME_BY_ID = {
    "SESSION-webauthn-unknown-credential": "unknown",
    "SESSION-webauthn-user-mismatch": "mismatch",
    "SESSION-user-locked": "locked",
    "SESSION-user-inactive": "inactive",
    "SESSION-rate-limited": "rate_limited",
    "SESSION-webauthn-clone": "clone",
    "SESSION-webauthn-no-challenge": "expired",
    "SESSION-expired": "expired",
  };

  /** The newest ceremony; an older one (an autofill request the button replaced) stays silent. */
  var current = 0;
  var autofillSupported = false;

  /** One sign-in: createSession with a challenge, the browser's prompt, setSession with it. */
  function signIn(autofill) {
    var attempt = ++current;
    var session = null;
    var input = { challenges: { webAuthN: P.USER_VERIFICATION }, lifetime: lifetime };
    var loginName = usernameInput.value.trim();
    if (!autofill && loginName) input.checks = { user: { loginName: loginName } };
    if (!autofill) {
      button.disabled = true;
      P.show("working");
    }
    return P.graphql(endpoint, CREATE, { input: input })
      .then(function (data) {
        session = data.createSession;
        if (attempt !== current) throw { superseded: true };
        var options = session.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;
        return W.startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill }).catch(
          function (error) {
            throw { browser: error };
          },
        );
      })
      .then(function (assertion) {
        if (autofill) P.show("working");
        return P.graphql(endpoint, CHECK, {
          input: {
            sessionId: session.sessionId,
            sessionToken: session.sessionToken,
            checks: { webAuthN: { credentialAssertionData: assertion } },
          },
        });
      })
      .then(function (data) {
        P.saveSession({ sessionId: session.sessionId, sessionToken: data.setSession.sessionToken });
        P.sendSignals(data.setSession.signals);
        P.show("success");
        location.assign(accountUrl);
      })
      .catch(function (failure) {
        if (session) abandon(session);
        if (attempt !== current || (failure && failure.superseded)) return;
        if (failure && failure.browser) {
          // An autofill request ends silently (the person may never have looked at it).
          if (!autofill) settle(P.isCancelled(failure.browser) ? "cancelled" : "error", true);
          return;
        }
        if (failure && failure.id === "SESSION-webauthn-unknown-credential") {
          P.sendUnknownCredential(failure.extensions);
        }
        settle(OUTCOME_BY_ID[failure && failure.id] || "error", !autofill);
      });
  }

  /** A session that never verified expires with its challenge; deleting it is only tidier. */
  function abandon(session) {
    P.graphql(endpoint, ABANDON, {
      input: { sessionId: session.sessionId, sessionToken: session.sessionToken },
    }).catch(function () {});
  }

  /**
   * Shows the outcome. After the button's attempt the field offers passkeys again (unless the
   * server asked us to slow down); after a failed autofill attempt it does not, so a passkey the
   * browser offers by itself cannot loop: the button is the way to try again.
   */
  function settle(outcome, offerAgain) {
    P.show(outcome);
    button.disabled = false;
    if (offerAgain && autofillSupported && outcome !== "rate_limited") signIn(true);
  }

  function pressed(event) {
    event.preventDefault();
    signIn(false);
  }

  if (!window.PublicKeyCredential || !W.browserSupportsWebAuthn()) {
    P.show("unsupported");
    button.disabled = true;
    return;
  }
  if (P.loadSession()) {
    location.replace(accountUrl);
    return;
  }
  var notice = P.takeNotice();
  if (notice) P.show(notice);
  form.addEventListener("submit", pressed);
  W.browserSupportsWebAuthnAutofill().then(function (supported) {
    autofillSupported = supported;
    if (supported && current === 0) signIn(true);
  });
})();
