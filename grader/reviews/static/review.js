// Keyboard navigation of the review page: j next, k previous, n next needing a look, Ctrl+Enter save.
// Keys typed into a field are the reviewer's text, never a command.
document.addEventListener("keydown", (event) => {
  const form = document.getElementById("review");
  if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit();
    return;
  }
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
  const links = {j: "next", k: "previous", n: "next-look", i: "index"};
  const link = links[event.key] && document.getElementById(links[event.key]);
  if (link) {
    event.preventDefault();
    window.location.assign(link.href);
  }
});
