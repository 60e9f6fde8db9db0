// Clinicflow's waiting-room screen: say the newly called ticket aloud, if asked to.
// Progressive enhancement: the "Announce aloud" checkbox is shown only where the browser
// has speech synthesis; the board itself works without this script. A call is announced
// when a new one (or a recall: its count changes) appears after the board is re-fetched.
(function () {
  "use strict";
  if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance === "undefined") {
    return;
  }
  var said = new Set();
  var box = null;

  function seen() {
    document.querySelectorAll("[data-announce]").forEach(function (el) {
      said.add(el.dataset.announce);
    });
  }

  function announce() {
    var fresh = [];
    document.querySelectorAll("[data-announce]").forEach(function (el) {
      if (!said.has(el.dataset.announce)) {
        said.add(el.dataset.announce);
        fresh.push(el.dataset.speech);
      }
    });
    if (box === null || !box.checked) {
      return;
    }
    fresh.reverse().forEach(function (text) {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = document.documentElement.lang || "en";
      window.speechSynthesis.speak(utterance);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    box = document.getElementById("announce-aloud");
    if (box !== null) {
      box.hidden = false;
      document.querySelector('label[for="announce-aloud"]').hidden = false;
      box.checked = window.localStorage.getItem("clinicflow-announce") === "1";
      box.addEventListener("change", function () {
        window.localStorage.setItem("clinicflow-announce", box.checked ? "1" : "0");
      });
    }
    seen();
  });
  document.addEventListener("htmx:afterSettle", announce);
})();
