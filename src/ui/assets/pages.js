// What the sign-in and account pages share: GraphQL calls (the session token as a bearer, never
// a cookie), the session kept in this tab's sessionStorage, the status messages, and the WebAuthn
// Signal API calls. Everything reaches the DOM as text, never as HTML.
(function () {
  "use strict";

  var STORAGE_KEY = "passkey-link.session";
  var NOTICE_KEY = "passkey-link.notice";
  var USER_VERIFICATION = { userVerificationRequirement: "USER_VERIFICATION_REQUIREMENT_REQUIRED" };

  /**
   * A GraphQL call. Resolves to `data`; rejects with { id, code, status, extensions } for an API
   * error (id: the error's detail id; status 401: the bearer is no longer valid).
   */
  function graphql(endpoint, query, variables, token) {
    var headers = { "content-type": "application/json" };
    if (token) headers.authorization = "Bearer " + token;
    return fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ query: query, variables: variables || {} }),
      credentials: "omit",
      referrerPolicy: "no-referrer",
      cache: "no-store",
    })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { status: response.status, body: body };
          },
          function () {
            throw { id: "", code: "UNAVAILABLE", status: response.status, extensions: {} };
          },
        );
      })
      .then(function (answer) {
        var errors = answer.body.errors;
        if (errors && errors.length > 0) {
          var extensions = errors[0].extensions || {};
          var details = extensions.details || [];
          throw {
            id: details[0] ? details[0].id : "",
            code: extensions.code || "",
            status: answer.status,
            extensions: extensions,
          };
        }
        return answer.body.data;
      });
  }

  /** Shows the status message of `outcome` (or #working) and hides the others. */
  function show(outcome) {
    var messages = document.querySelectorAll("#status [data-outcome], #working");
    for (var i = 0; i < messages.length; i++) {
      var element = messages[i];
      element.hidden =
        outcome === "working"
          ? element.id !== "working"
          : element.getAttribute("data-outcome") !== outcome;
    }
    document.body.setAttribute("data-state", outcome || "idle");
  }

  function loadSession() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
      return stored && stored.sessionId && stored.sessionToken ? stored : null;
    } catch {
      return null;
    }
  }

  function saveSession(session) {
    window.sessionStorage.setItem(
      STORAGE_KEY,
      JSON.stringify({ sessionId: session.sessionId, sessionToken: session.sessionToken }),
    );
  }

  function clearSession(notice) {
    window.sessionStorage.removeItem(STORAGE_KEY);
    if (notice) window.sessionStorage.setItem(NOTICE_KEY, notice);
  }

  /** A message one page leaves for the next (e.g. "signed out"), read once. */
  function takeNotice() {
    var notice = window.sessionStorage.getItem(NOTICE_KEY);
    window.sessionStorage.removeItem(NOTICE_KEY);
    return notice;
  }

  /** Fire and forget: the Signal API is optional, and a browser may refuse a signal. */
  function signal(name, payload) {
    var api = window.PublicKeyCredential;
    if (!api || typeof api[name] !== "function") return;
    try {
      Promise.resolve(api[name](payload)).catch(function () {});
    } catch {
      /* not supported here */
    }
  }

  /** Tells the browser which passkeys the server still accepts, and the user's current names. */
  function sendSignals(signals) {
    if (!signals) return;
    signal("signalAllAcceptedCredentials", {
      rpId: signals.rpId,
      userId: signals.userId,
      allAcceptedCredentialIds: signals.allAcceptedCredentialIds,
    });
    signal("signalCurrentUserDetails", {
      rpId: signals.rpId,
      userId: signals.userId,
      name: signals.name,
      displayName: signals.displayName,
    });
  }

  /** The error's `signal` (SPEC 18: in its extensions; today's server puts it in details[0]). */
  function sendUnknownCredential(extensions) {
    var details = (extensions && extensions.details) || [];
    var unknown = (extensions && extensions.signal) || (details[0] && details[0].signal);
    if (unknown && unknown.rpId && unknown.credentialId) {
      signal("signalUnknownCredential", { rpId: unknown.rpId, credentialId: unknown.credentialId });
    }
  }

  /** The browser's own WebAuthn failures: the prompt was cancelled, timed out or aborted. */
  function isCancelled(error) {
    var name = error && error.name;
    return name === "NotAllowedError" || name === "AbortError";
  }

  window.PasskeyPages = {
    SESSION_FIELDS: "sessionId sessionToken",
    USER_VERIFICATION: USER_VERIFICATION,
    graphql: graphql,
    show: show,
    loadSession: loadSession,
    saveSession: saveSession,
    clearSession: clearSession,
    takeNotice: takeNotice,
    sendSignals: sendSignals,
    sendUnknownCredential: sendUnknownCredential,
    isCancelled: isCancelled,
  };
})();
