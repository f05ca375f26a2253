// Review page: deciding appeals, sanctioning an author and lifting a sanction.
// Each form gets one idempotency key when the page loads: submitting twice (a double click, a
// retried request) sends the same key, and the server publishes one event.
"use strict";

function moderationForms() {
  const forms = $$("form.moderation-form");
  forms.forEach((form) => {
    form.dataset.key = idempotencyKey();
    const action = form.querySelector("select[name=action]");
    const until = form.querySelector("label.until");
    const showUntil = () => { if (until) until.hidden = action.value !== "suspend"; };
    if (action) { action.addEventListener("change", showUntil); showUntil(); }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {};
      new FormData(form).forEach((value, name) => {
        const text = String(value).trim();
        if (text) body[name] = text;
      });
      if (body.action && body.action !== "suspend") delete body.until;
      body.idempotency_key = form.dataset.key;
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await api(form.dataset.action, body);
        toast(form.dataset.done);
        setTimeout(() => location.reload(), 600);
      } catch (err) {
        toast(err.message, true);
        if (button) button.disabled = false;
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", moderationForms);
