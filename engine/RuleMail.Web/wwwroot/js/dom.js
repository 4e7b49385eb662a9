// Building the page without HTML strings: every text goes in as text, so nothing from a message or a key can become markup.

/** An element: h('button', {class: 'x', onclick: f, title: 't'}, 'text', child...). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (name in element && typeof element[name] !== 'function' && !name.startsWith('aria-') && name !== 'for' && name !== 'role') {
      element[name] = value;
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children: elements, text (strings, numbers) or arrays of them; null and false are skipped. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** One of the seed's icons (lock, open-lock, signed, not-signed, encryption-error), decorative unless a label is given. */
export function icon(name, label = '') {
  return h('img', { class: `icon icon-${name}`, src: `/icons/${name}.svg`, alt: label, width: 18, height: 18 });
}

/** A date and time as the reader's locale shows it (the ISO text when it does not parse). */
export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Calls f at most once per `ms` of quiet: the composer's recipients are checked as they are typed. */
export function debounce(f, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

/** A short message at the bottom of the page (a live region, so screen readers say it too). */
export function toast(text, kind = 'info') {
  const box = document.getElementById('toast');
  box.className = `toast toast-${kind} shown`;
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove('shown'), 6000);
}
