// The card sign-in waiting page, enhanced: once the card has answered, press Continue.
// Without this script the page works the same with the Continue button.
(function () {
  "use strict";
  function start() {
    var form = document.getElementById("continue");
    if (!form) {
      return;
    }
    var statusUrl = form.getAttribute("data-status");
    var delay = Number(form.getAttribute("data-poll-seconds") || "3") * 1000;
    function poll() {
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : { waiting: false };
        })
        .then(function (status) {
          if (status.waiting) {
            window.setTimeout(poll, delay);
          } else {
            form.submit();
          }
        })
        .catch(function () {
          window.setTimeout(poll, delay);
        });
    }
    window.setTimeout(poll, delay);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
