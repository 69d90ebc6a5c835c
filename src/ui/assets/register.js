// The registration page's script: nothing runs until the button is pressed. Then it opens a
// registration with the code from the link, runs the browser's passkey prompt, and stores the
// passkey. It only picks which of the page's (translated) messages to show.
(function () {
  "use strict";

  var form = document.getElementById("register");
  var button = document.getElementById("register-button");
  var nameInput = document.getElementById("passkey-name");
  var endpoint = new URL(form.getAttribute("data-graphql"), location.href).href;
  var params = new URLSearchParams(location.search);
  var link = {
    userId: params.get("userID") || "",
    codeId: params.get("codeID") || "",
    code: params.get("code") || "",
  };

  var REGISTER =
    "mutation Register($input: RegisterPasskeyInput!) { registerPasskey(input: $input) { passkeyId publicKeyCredentialCreationOptions } }";
  var VERIFY =
    "mutation Verify($input: VerifyPasskeyRegistrationInput!) { verifyPasskeyRegistration(input: $input) { details { sequence } } }";

  /** Server detail ids, and browser error names, mapped to the page's messages. */
  var OUTCOME_BY_ID = {
    "CODE-expired": "expired",
    "CODE-used": "used",
    "CODE-revoked": "revoked",
    "CODE-locked_out": "locked_out",
    "CODE-invalid": "invalid",
    "CODE-ended": "invalid",
    "USER-not-found": "invalid",
    "LINK-user-machine": "inactive",
    "LINK-user-not-active": "inactive",
    "PASSKEY-credential-exists": "exists",
  };
  var OUTCOME_BY_BROWSER_ERROR = {
    NotAllowedError: "cancelled",
    AbortError: "cancelled",
    InvalidStateError: "exists",
    ConstraintError: "unsupported",
    NotSupportedError: "unsupported",
  };

  function show(outcome) {
    var messages = document.querySelectorAll("#status [data-outcome], #working");
    for (var i = 0; i < messages.length; i++) {
      var element = messages[i];
      element.hidden =
        outcome === "working"
          ? element.id !== "working"
          : element.getAttribute("data-outcome") !== outcome;
    }
    document.body.setAttribute("data-state", outcome);
  }

  function finish(outcome, retryable) {
    show(outcome);
    button.disabled = !retryable;
  }

  /** A GraphQL call; resolves to data, rejects with { outcome } for an API error. */
  function call(query, input) {
    return fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: query, variables: { input: input } }),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        if (body.errors && body.errors.length > 0) {
          var details = (body.errors[0].extensions || {}).details || [];
          var id = details[0] ? details[0].id : "";
          var outcome =
            OUTCOME_BY_ID[id] || (String(id).indexOf("GQL-") === 0 ? "invalid" : "error");
          throw { outcome: outcome };
        }
        return body.data;
      });
  }

  function platformName() {
    var ua = navigator.userAgent;
    var names = [
      [/iPhone/, "iPhone"],
      [/iPad/, "iPad"],
      [/Android/, "Android"],
      [/Macintosh|Mac OS X/, "Mac"],
      [/Windows/, "Windows"],
      [/CrOS/, "ChromeOS"],
      [/Linux/, "Linux"],
    ];
    for (var i = 0; i < names.length; i++) if (names[i][0].test(ua)) return names[i][1];
    return "";
  }

  function register(event) {
    event.preventDefault();
    var passkeyName = nameInput.value.trim();
    if (!passkeyName) {
      nameInput.focus();
      return;
    }
    button.disabled = true;
    show("working");
    var passkeyId;
    call(REGISTER, {
      userId: link.userId,
      code: { id: link.codeId, code: link.code },
    })
      .then(function (data) {
        passkeyId = data.registerPasskey.passkeyId;
        var options = data.registerPasskey.publicKeyCredentialCreationOptions.publicKey;
        return SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options }).catch(
          function (error) {
            throw { outcome: OUTCOME_BY_BROWSER_ERROR[error && error.name] || "error" };
          },
        );
      })
      .then(function (credential) {
        return call(VERIFY, {
          userId: link.userId,
          passkeyId: passkeyId,
          publicKeyCredential: credential,
          passkeyName: passkeyName,
        });
      })
      .then(function () {
        finish("success", false);
      })
      .catch(function (failure) {
        var outcome = (failure && failure.outcome) || "error";
        var retryable = outcome === "cancelled" || outcome === "error";
        finish(outcome, retryable);
      });
  }

  if (!link.userId || !link.codeId || !link.code) {
    finish("invalid", false);
    return;
  }
  if (!window.PublicKeyCredential || !SimpleWebAuthnBrowser.browserSupportsWebAuthn()) {
    finish("unsupported", false);
    return;
  }
  var platform = platformName();
  if (platform) nameInput.value = nameInput.value + " – " + platform;
  form.addEventListener("submit", register);
})();
