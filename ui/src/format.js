// format.js - numbers as the console writes them (the browser test recomputes these from
// the API's answers, so a change here is a change there).

const whole = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});

export function int(n) {
  return whole.format(n);
}

// 0.99876 -> "99.88 %"
export function percent(x, digits = 2) {
  return `${(x * 100).toFixed(digits)} %`;
}

// {"blue": 50, "green": 50} in the variants' order -> ["blue 50 %", "green 50 %"] (shown
// joined by " · ")
export function split(weights, order) {
  const keys = order && order.length ? order : Object.keys(weights || {});
  return keys.filter((k) => weights && k in weights).map((k) => `${k} ${weights[k]} %`);
}

export function hours(h) {
  return h < 1 ? `${Math.round(h * 60)} min` : `${h.toFixed(1)} h`;
}
