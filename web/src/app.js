export function start(root) {
  root.textContent = "Tandem";
}
