// Progressive enhancement only: every page works without it. Submits the overview's and
// the report list's filter forms when a select changes, so a phone needs one tap less.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("form.filters select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
});
