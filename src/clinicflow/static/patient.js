// Clinicflow's patient pages: count down the time left to answer a waitlist offer.
// The server renders the starting value (pages work without this script); each
// countdown counts from the seconds the server gave it, so a wrong clock on the
// phone does not matter. Lists swapped in live (htmx) bring their own countdowns.
(function () {
  "use strict";
  var started = new WeakMap();

  function show(el, left) {
    if (left <= 0) {
      el.textContent = el.dataset.expired;
      return;
    }
    var hours = Math.floor(left / 3600);
    var minutes = Math.floor((left % 3600) / 60);
    var template = hours > 0 ? el.dataset.hours : el.dataset.minutes;
    el.textContent = template
      .replace("{hours}", String(hours))
      .replace("{minutes}", String(hours > 0 ? minutes : Math.floor(left / 60)))
      .replace("{seconds}", String(left % 60));
  }

  function tick() {
    var now = performance.now();
    document.querySelectorAll("[data-seconds-left]").forEach(function (el) {
      if (!started.has(el)) {
        started.set(el, now + Number(el.dataset.secondsLeft) * 1000);
      }
      show(el, Math.round((started.get(el) - now) / 1000));
    });
  }

  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 1000);
})();
