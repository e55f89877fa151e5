// The temperature explorer (docs/explorer/explorer.js): the teacher's softmax at a temperature
// the reader chooses, its entropy, the gradient a student's logits get from a hard label and
// from the soft target, and the students' own probabilities. Everything is computed here, in
// double precision, from the logits the chapters saved (window.KD_EXPLORER_DATA, embedded in the
// page when the docs were built): nothing is fetched.
(function () {
  'use strict';

  const kMinLog = -1;  // T = 0.1
  const kMaxLog = 2;   // T = 100

  // p_j(T) = e^{z_j / T} / sum_k e^{z_k / T}, from the largest z_j / T down (no overflow).
  function softmax(z, t) {
    const scaled = z.map((v) => v / t);
    const top = Math.max(...scaled);
    const e = scaled.map((v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  // H(p) = -sum_j p_j log2 p_j, in bits (0 log 0 = 0).
  function entropy_bits(p) {
    return p.reduce((h, v) => (v > 0 ? h - v * Math.log2(v) : h), 0);
  }

  function format(x, digits) {
    return x.toFixed(digits);
  }

  function signed(x, digits) {
    return (x >= 0 ? '+' : '\u2212') + Math.abs(x).toFixed(digits);
  }

  // A float32 setting as it was written (0.9, not 0.8999999761581421).
  function short(x) {
    return String(Number(x.toPrecision(6)));
  }

  // T for display: three significant digits, no exponent.
  function format_t(t) {
    return t >= 10 ? t.toFixed(1) : t >= 1 ? t.toFixed(2) : t.toFixed(3);
  }

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function draw(canvas, pixels, width, height) {
    const context = canvas.getContext('2d');
    const image = context.createImageData(width, height);
    for (let i = 0; i < width * height; ++i) {
      const ink = 255 - pixels[i];  // the data's bright garment on black, drawn dark on white
      image.data[4 * i] = ink;
      image.data[4 * i + 1] = ink;
      image.data[4 * i + 2] = ink;
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }

  function start(root, data) {
    const teacher = data.teacher;
    const classes = teacher.classes;
    const images = teacher.images;
    const students = usable_students(data);
    const slider = document.getElementById('kd-t-slider');
    const number = document.getElementById('kd-t-number');
    const state = { image: 0, t: 1 };

    // The image list: one radio button per image, with a thumbnail.
    const list = document.getElementById('kd-image-list');
    images.forEach((image, k) => {
      const id = 'kd-image-' + k;
      const input = element('input');
      input.type = 'radio';
      input.name = 'kd-image';
      input.id = id;
      input.value = String(k);
      input.checked = k === 0;
      const label = element('label');
      label.htmlFor = id;
      const thumb = element('canvas', 'kd-thumb');
      thumb.width = teacher.width;
      thumb.height = teacher.height;
      thumb.setAttribute('aria-hidden', 'true');
      draw(thumb, image.pixels, teacher.width, teacher.height);
      label.append(thumb, element('span', 'kd-thumb-text', classes[image.label]),
                   element('span', 'kd-thumb-why', image.kind));
      label.title = image.why + ' (test image ' + image.test_index + ')';
      const item = element('div', 'kd-image-item');
      item.append(input, label);
      list.append(item);
      input.addEventListener('change', () => {
        if (input.checked) {
          state.image = k;
          render();
        }
      });
    });

    // One row per class: name, bar, value; `value` is kept exact in data-value for tests.
    function bar_rows(container, rows) {
      container.replaceChildren();
      for (const row of rows) {
        const r = element('div', 'kd-row' + (row.emphasis ? ' kd-true' : ''));
        r.setAttribute('role', 'listitem');
        r.append(element('span', 'kd-name', row.name));
        const track = element('span', 'kd-track');
        for (const b of row.bars) {
          const fill = element('span', 'kd-fill ' + b.className);
          fill.dataset.value = String(b.value);
          fill.dataset.series = b.series;
          if (b.left !== undefined) {
            fill.style.left = b.left + '%';
          }
          fill.style.width = b.width + '%';
          track.append(fill);
        }
        r.append(track, element('span', 'kd-value', row.text));
        container.append(r);
      }
    }

    function render() {
      const image = images[state.image];
      const t = state.t;
      root.dataset.t = String(t);
      root.dataset.image = String(state.image);
      slider.value = String(Math.log10(t));
      slider.setAttribute('aria-valuetext', 'T = ' + format_t(t));
      if (document.activeElement !== number) number.value = format_t(t);

      draw(document.getElementById('kd-canvas'), image.pixels, teacher.width, teacher.height);
      const q = softmax(image.teacher_logits, t);
      const predicted = q.indexOf(Math.max(...q));
      document.getElementById('kd-caption').textContent =
          'Test image ' + image.test_index + ', ' + image.why + ': labelled ' + classes[image.label] +
          ', the teacher says ' + classes[predicted] + '.';
      document.getElementById('kd-canvas').setAttribute(
          'aria-label', 'test image ' + image.test_index + ', labelled ' + classes[image.label]);

      const h = entropy_bits(q);
      root.dataset.entropy = String(h);
      document.getElementById('kd-entropy').textContent = format(h, 3);
      document.getElementById('kd-effective').textContent = format(Math.pow(2, h), 2);
      bar_rows(document.getElementById('kd-teacher-bars'), q.map((p, j) => ({
        name: classes[j] + (j === image.label ? ' (label)' : ''),
        emphasis: j === image.label,
        text: format(p, 3),
        bars: [{ className: 'kd-teacher', series: 'teacher', value: p, width: 100 * p }],
      })));

      // The gradients on the student's logits s: hard label y at T = 1, soft target at T with
      // the T^2 factor, T^2 d/ds_j KL(q(T) || p(T)) = T (p_j(T) - q_j(T)).
      const s = image.student_logits;
      const p1 = softmax(s, 1);
      const pt = softmax(s, t);
      const hard = p1.map((v, j) => v - (j === image.label ? 1 : 0));
      const soft = pt.map((v, j) => t * (v - q[j]));
      const scale = Math.max(...hard.map(Math.abs), ...soft.map(Math.abs), 1e-12);
      document.getElementById('kd-gradient-explain').textContent =
          'For this image, on the logits of ' + teacher.student + ' (its own top class: ' +
          classes[p1.indexOf(Math.max(...p1))] + ', ' + format(Math.max(...p1), 3) + ').';
      document.getElementById('kd-gradient-scale').textContent =
          'Bars are scaled to the largest, ' + format(scale, 3) + ', at each T.';
      const half = (g) => ({ left: g < 0 ? 50 + 50 * g / scale : 50, width: 50 * Math.abs(g) / scale });
      bar_rows(document.getElementById('kd-gradient-bars'), classes.map((name, j) => ({
        name: name + (j === image.label ? ' (label)' : ''),
        emphasis: j === image.label,
        text: signed(hard[j], 3) + ' / ' + signed(soft[j], 3),
        bars: [
          Object.assign({ className: 'kd-hard', series: 'hard', value: hard[j] }, half(hard[j])),
          Object.assign({ className: 'kd-soft', series: 'soft', value: soft[j] }, half(soft[j])),
        ],
      })));

      if (students) {
        const pair = students.images[state.image];
        const ph = softmax(pair.hard_logits, 1);
        const ps = softmax(pair.soft_logits, 1);
        bar_rows(document.getElementById('kd-student-bars'), classes.map((name, j) => ({
          name: name + (j === image.label ? ' (label)' : ''),
          emphasis: j === image.label,
          text: format(ph[j], 3) + ' / ' + format(ps[j], 3),
          bars: [
            { className: 'kd-hard', series: 'hard_student', value: ph[j], width: 100 * ph[j] },
            { className: 'kd-soft', series: 'soft_student', value: ps[j], width: 100 * ps[j] },
          ],
        })));
      }
    }

    function set_t(t) {
      if (!(t > 0) || !isFinite(t)) return;
      state.t = Math.min(Math.pow(10, kMaxLog), Math.max(Math.pow(10, kMinLog), t));
      render();
    }

    slider.addEventListener('input', () => set_t(Math.pow(10, Number(slider.value))));
    number.addEventListener('input', () => {
      const t = Number(number.value);
      if (number.value !== '' && t >= Math.pow(10, kMinLog) && t <= Math.pow(10, kMaxLog)) set_t(t);
    });
    number.addEventListener('change', () => {
      set_t(Number(number.value));
      number.value = format_t(state.t);
    });

    const note = document.getElementById('kd-no-students');
    if (students) {
      document.getElementById('kd-students').hidden = false;
      document.getElementById('kd-students-explain').textContent =
          'Chapter 5\'s students of seed ' + students.seed + ', the same 784-100-10 network trained on the labels ' +
          'and on the teacher\'s soft targets (T = ' + short(students.soft_targets.T) + ', alpha = ' +
          short(students.soft_targets.alpha) + '); hard / soft.';
    } else {
      note.hidden = false;
      note.replaceChildren(element('b', '', 'No students yet. '), document.createTextNode(
          data.students ? 'Chapter 5\'s saved students were trained with another teacher or on other data than ' +
                              'chapter 3\'s; run chapter 5 again '
                        : 'Run chapter 5 (build/release/chapters/ch05_student/ch05_student) '),
          document.createTextNode('and rebuild these pages to see its hard and soft students\' probabilities here.'));
    }
    root.dataset.students = students ? 'yes' : 'no';
    render();
  }

  // The students file, when it belongs to the same teacher and the same images.
  function usable_students(data) {
    const s = data.students;
    if (!s || !s.images || s.images.length !== data.teacher.images.length) return null;
    if (JSON.stringify(s.teacher_config) !== JSON.stringify(data.teacher.teacher_config)) return null;
    if (s.quick !== data.teacher.quick) return null;
    for (let k = 0; k < s.images.length; ++k) {
      if (s.images[k].test_index !== data.teacher.images[k].test_index) return null;
    }
    return s;
  }

  const root = document.getElementById('kd-explorer');
  if (!root) return;
  const data = window.KD_EXPLORER_DATA;
  if (data && data.teacher_file) document.getElementById('kd-teacher-file').textContent = data.teacher_file;
  if (!data || !data.teacher || !data.teacher.images || data.teacher.images.length === 0) {
    document.getElementById('kd-no-teacher').hidden = false;
    root.dataset.state = 'no-data';
    return;
  }
  document.getElementById('kd-body').hidden = false;
  start(root, data);
  root.dataset.state = 'ready';
})();
