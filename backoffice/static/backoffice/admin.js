// Copy buttons beside shortened ids (core/admin_cells.py): copy the full id, say so for a moment.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".bo-copy");
  if (!button) return;
  event.preventDefault();
  const done = () => {
    button.classList.add("bo-copied");
    setTimeout(() => button.classList.remove("bo-copied"), 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(button.dataset.copy).then(done);
  } else {
    // Plain-HTTP pages have no clipboard API: select the text in a scratch field and copy that.
    const field = document.createElement("textarea");
    field.value = button.dataset.copy;
    document.body.appendChild(field);
    field.select();
    document.execCommand("copy");
    field.remove();
    done();
  }
});
