// Live expiry countdowns for elements carrying data-exp (unix seconds). No other script.
"use strict";
function tick() {
  const now = Math.floor(Date.now() / 1000);
  for (const element of document.querySelectorAll("[data-exp]")) {
    const left = Number(element.dataset.exp) - now;
    element.textContent = left > 0
      ? `expires in ${Math.floor(left / 60)} min ${left % 60} s`
      : `expired ${-left} s ago`;
    element.classList.toggle("expired", left <= 0);
  }
}
tick();
setInterval(tick, 1000);
