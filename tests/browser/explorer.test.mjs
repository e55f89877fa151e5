// The temperature explorer, driven in Debian's Chromium by Playwright, offline, from file://.
//
//   node tests/browser/explorer.test.mjs SITE NO_DATA_SITE SHOTS
//
// SITE is a built site whose explorer has data (the --quick run's, in ./run test); NO_DATA_SITE
// one built without any (the page must say how to get it); SHOTS receives screenshots at 1280
// and 400 px. The test moves the slider by mouse and by keyboard and types into the number box,
// and checks every bar against its own softmax of the logits embedded in the page, within 1e-6;
// that the entropy rises with T; that at T = 100 every teacher bar is within 1% of 0.1; that each
// image, chosen in turn, is drawn from its pixels and sets the bars; that the controls are
// labelled and focus is visible; and that nothing was logged as an error and nothing was asked
// of the network. Exits 1 on the first failure, with what differed.
import { chromium } from 'playwright-core';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [site, noDataSite, shots] = process.argv.slice(2);
if (!site || !noDataSite || !shots) {
  console.error('usage: node explorer.test.mjs SITE NO_DATA_SITE SHOTS');
  process.exit(2);
}
const kTolerance = 1e-6;

// --- the reference: computed here, independently of the page ----------------------------
// p_j(T) = 1 / sum_k e^{(z_k - z_j) / T}: another route to the softmax than the page's.
function softmax(z, t) {
  return z.map((zj) => 1 / z.reduce((s, zk) => s + Math.exp((zk - zj) / t), 0));
}
function entropyBits(p) {
  return -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0) / Math.LN2;
}

class Failure extends Error {}
function expect(condition, message) {
  if (!condition) throw new Failure(message);
}
function expectClose(actual, expected, what) {
  expect(actual.length === expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  for (let j = 0; j < expected.length; ++j) {
    expect(Math.abs(actual[j] - expected[j]) <= kTolerance,
           `${what}: value ${j} is ${actual[j]}, expected ${expected[j]} (difference ${actual[j] - expected[j]})`);
  }
}

const timings = [];
async function step(name, body) {
  const start = performance.now();
  await body();
  const ms = performance.now() - start;
  timings.push([name, ms]);
  console.log(`ok   ${name} (${(ms / 1000).toFixed(2)} s)`);
}

const started = performance.now();
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kd-explorer-chromium-'));
fs.mkdirSync(shots, { recursive: true });
const problems = [];  // console errors, page errors, failed loads, network requests
let context;
let exitCode = 0;
try {
  // A fresh profile, every background network feature off, and names resolving nowhere.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND'],
  });
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) problems.push(`network request: ${url}`);
  });
  context.on('requestfailed', (request) => problems.push(`failed to load ${request.url()}: ${request.failure()?.errorText}`));
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const noProblems = (where) => expect(problems.length === 0, `${where}:\n  ${problems.join('\n  ')}`);

  const open = async (dir) => {
    const file = path.resolve(dir, 'explorer.html');
    expect(fs.existsSync(file), `${file}: no such page (was the site built?)`);
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('kd-explorer')?.dataset.state !== 'loading',
                               null, { timeout: 10000 });
    // The page's formulas, typeset by the site's MathJax 2 once its queue has run.
    await page.evaluate(() => new Promise((resolve) => (window.MathJax?.Hub ? MathJax.Hub.Queue(resolve) : resolve())));
  };

  // What the page shows now, read from its elements (exact values in data-value).
  const shown = () => page.evaluate(() => {
    const root = document.getElementById('kd-explorer');
    const values = (selector) => [...root.querySelectorAll(selector)].map((e) => Number(e.dataset.value));
    return {
      t: Number(root.dataset.t),
      image: Number(root.dataset.image),
      entropy: Number(root.dataset.entropy),
      entropyText: document.getElementById('kd-entropy').textContent,
      effectiveText: document.getElementById('kd-effective').textContent,
      slider: Number(document.getElementById('kd-t-slider').value),
      number: document.getElementById('kd-t-number').value,
      teacher: values('#kd-teacher-bars [data-series=teacher]'),
      hard: values('#kd-gradient-bars [data-series=hard]'),
      soft: values('#kd-gradient-bars [data-series=soft]'),
      hardStudent: values('#kd-student-bars [data-series=hard_student]'),
      softStudent: values('#kd-student-bars [data-series=soft_student]'),
      names: [...root.querySelectorAll('#kd-teacher-bars .kd-name')].map((e) => e.textContent),
      caption: document.getElementById('kd-caption').textContent,
      studentsNote: document.getElementById('kd-no-students').hidden ? null
                                                                      : document.getElementById('kd-no-students').textContent,
    };
  });

  let data;
  // Every bar against the reference at the T the page says it uses, and the controls against T.
  const checkBars = async (what) => {
    const s = await shown();
    const image = data.teacher.images[s.image];
    const q = softmax(image.teacher_logits, s.t);
    expectClose(s.teacher, q, `${what}: teacher bars at T = ${s.t}`);
    const h = entropyBits(q);
    expect(Math.abs(s.entropy - h) <= kTolerance, `${what}: entropy ${s.entropy}, expected ${h}`);
    expect(s.entropyText === h.toFixed(3), `${what}: entropy shown as ${s.entropyText}, expected ${h.toFixed(3)}`);
    expect(s.effectiveText === Math.pow(2, h).toFixed(2),
           `${what}: effective number shown as ${s.effectiveText}, expected ${Math.pow(2, h).toFixed(2)}`);
    const p1 = softmax(image.student_logits, 1);
    const pt = softmax(image.student_logits, s.t);
    expectClose(s.hard, p1.map((v, j) => v - (j === image.label ? 1 : 0)), `${what}: hard-label gradient`);
    expectClose(s.soft, pt.map((v, j) => s.t * (v - q[j])), `${what}: soft-target gradient at T = ${s.t}`);
    expect(Math.abs(s.slider - Math.log10(s.t)) <= 0.005 + 1e-9, `${what}: slider at ${s.slider} for T = ${s.t}`);
    expect(Math.abs(Number(s.number) / s.t - 1) < 0.01, `${what}: number box says ${s.number} for T = ${s.t}`);
    expect(s.names.length === 10 && s.names[0].startsWith(data.teacher.classes[0]),
           `${what}: bar labels ${JSON.stringify(s.names)}`);
    return s;
  };

  await step('the page opens from file:// with its data embedded', async () => {
    await open(site);
    data = await page.evaluate(() => window.KD_EXPLORER_DATA);
    expect(data && data.teacher && data.teacher.images.length >= 10,
           `no teacher data embedded in ${site}/explorer.html: ${JSON.stringify(data)?.slice(0, 200)}`);
    const state = await page.evaluate(() => document.getElementById('kd-explorer').dataset.state);
    expect(state === 'ready', `the explorer's state is ${state}`);
    for (const image of data.teacher.images) {
      expect(image.pixels.length === data.teacher.width * data.teacher.height && image.teacher_logits.length === 10,
             `image ${image.test_index}: ${image.pixels.length} pixels, ${image.teacher_logits.length} logits`);
    }
    const s = await checkBars('at first');
    expect(s.t === 1, `the page starts at T = ${s.t}, not 1`);
    noProblems('while opening the page');
  });

  await step('every control is labelled, and keyboard focus is visible', async () => {
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('#kd-explorer input')]
      .filter((e) => !e.labels || e.labels.length === 0 || !e.labels[0].textContent.trim()).map((e) => e.id));
    expect(unlabelled.length === 0, `inputs without a label: ${unlabelled.join(', ')}`);
    await page.click('#kd-t-number');
    await page.keyboard.press('Shift+Tab');
    const focus = await page.evaluate(() => {
      const e = document.activeElement;
      const style = getComputedStyle(e);
      return { id: e.id, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    expect(focus.id === 'kd-t-slider', `Shift+Tab from the number box focused ${focus.id}, not the slider`);
    expect(focus.outline !== 'none' && focus.width >= 2, `the focused slider's outline: ${JSON.stringify(focus)}`);
  });

  const slider = await page.$('#kd-t-slider');
  const sliderBox = async () => {
    await slider.scrollIntoViewIfNeeded();
    return slider.boundingBox();
  };

  await step('dragging the slider with the mouse sets T on a log scale, and the bars follow', async () => {
    const box = await sliderBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.5, y);
    await page.mouse.down();
    for (let f = 0.5; f <= 0.8 + 1e-9; f += 0.05) await page.mouse.move(box.x + box.width * f, y);
    await page.mouse.up();
    const s = await checkBars('after a drag to 80%');
    // 80% of the way from log10 T = -1 to 2 is log10 T = 1.4 (the thumb's width shifts it a little).
    expect(Math.abs(Math.log10(s.t) - 1.4) < 0.1, `after a drag to 80% of the slider T = ${s.t}, not about 25`);
  });

  await step('the entropy rises as the mouse moves the slider up', async () => {
    const box = await sliderBox();
    const seen = [];
    for (let f = 0.02; f <= 0.98 + 1e-9; f += 0.08) {
      await page.mouse.click(box.x + box.width * f, box.y + box.height / 2);
      seen.push(await checkBars(`clicked at ${(100 * f).toFixed(0)}%`));
    }
    for (let i = 1; i < seen.length; ++i) {
      expect(seen[i].t > seen[i - 1].t, `T went from ${seen[i - 1].t} to ${seen[i].t} as the mouse moved right`);
      expect(seen[i].entropy >= seen[i - 1].entropy - 1e-12,
             `entropy fell from ${seen[i - 1].entropy} to ${seen[i].entropy} bits as T rose from ${seen[i - 1].t} to ${seen[i].t}`);
    }
    expect(seen.at(-1).entropy > seen[0].entropy + 0.1,
           `entropy ${seen[0].entropy} at T = ${seen[0].t} and ${seen.at(-1).entropy} at T = ${seen.at(-1).t}`);
  });

  await step('the arrow keys step T by 10^0.01, Home and End reach 0.1 and 100', async () => {
    await slider.focus();
    await page.keyboard.press('Home');
    let s = await checkBars('after Home');
    expect(Math.abs(s.t - 0.1) < 1e-12, `Home gives T = ${s.t}`);
    let previous = s;
    for (let i = 0; i < 10; ++i) {
      await page.keyboard.press('ArrowRight');
      s = await checkBars(`after ${i + 1} presses of ArrowRight`);
      expect(s.entropy >= previous.entropy - 1e-12, `entropy fell from ${previous.entropy} to ${s.entropy} on ArrowRight`);
      previous = s;
    }
    expect(Math.abs(s.t / Math.pow(10, -0.9) - 1) < 1e-9, `10 presses of ArrowRight from 0.1 give T = ${s.t}, not 10^-0.9`);
    await page.keyboard.press('ArrowLeft');
    s = await checkBars('after ArrowLeft');
    expect(Math.abs(s.t / Math.pow(10, -0.91) - 1) < 1e-9, `ArrowLeft gives T = ${s.t}, not 10^-0.91`);
    await page.keyboard.press('End');
    s = await checkBars('after End');
    expect(Math.abs(s.t - 100) < 1e-9, `End gives T = ${s.t}`);
  });

  // Within 1% means one percentage point, |p - 0.1| <= 0.01: at T = 100 a bar is about
  // 0.1 (1 + (z_j - mean z) / 100), so the teacher's logits would have to lie within 1 of their
  // mean for 1% of 0.1 itself; the --quick teacher's lie within about 3.
  await step('at T = 100 every bar of every image is within 1% of 0.1', async () => {
    let worstOfAll = 0;
    for (let k = 0; k < data.teacher.images.length; ++k) {
      await page.click(`label[for=kd-image-${k}]`);
      const s = await checkBars(`image ${k} at T = 100`);
      expect(s.t === 100 && s.image === k, `image ${k}: the page shows image ${s.image} at T = ${s.t}`);
      const worst = Math.max(...s.teacher.map((p) => Math.abs(p - 0.1)));
      expect(worst <= 0.01, `image ${k} (test image ${data.teacher.images[k].test_index}) at T = 100: ` +
                            `a bar ${worst.toFixed(5)} from 0.1 (bars ${s.teacher.map((p) => p.toFixed(4)).join(' ')})`);
      worstOfAll = Math.max(worstOfAll, worst);
    }
    console.log(`     (the bar farthest from 0.1 is ${worstOfAll.toFixed(4)} away)`);
  });

  await step('the number box sets T exactly, and clamps what is out of range', async () => {
    await page.fill('#kd-t-number', '4');
    await page.press('#kd-t-number', 'Enter');
    let s = await checkBars('T = 4 typed');
    expect(s.t === 4, `typing 4 gives T = ${s.t}`);
    await page.fill('#kd-t-number', '1000');
    await page.press('#kd-t-number', 'Tab');
    s = await checkBars('T = 1000 typed');
    expect(s.t === 100 && s.number === '100.0', `typing 1000 gives T = ${s.t}, the box says ${s.number}`);
    await page.fill('#kd-t-number', '4');
    await page.press('#kd-t-number', 'Tab');
  });

  await step('choosing each image draws its pixels and shows its logits', async () => {
    for (let k = 0; k < data.teacher.images.length; ++k) {
      const image = data.teacher.images[k];
      await page.click(`label[for=kd-image-${k}]`);
      const s = await checkBars(`image ${k}`);
      expect(s.image === k, `clicking image ${k} shows image ${s.image}`);
      expect(s.caption.includes(`Test image ${image.test_index}`) && s.caption.includes(data.teacher.classes[image.label]),
             `image ${k}: caption "${s.caption}"`);
      const drawn = await page.evaluate(() => {
        const canvas = document.getElementById('kd-canvas');
        return [...canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data];
      });
      for (let i = 0; i < image.pixels.length; ++i) {
        expect(drawn[4 * i] === 255 - image.pixels[i], `image ${k}: pixel ${i} drawn as ${drawn[4 * i]}, data ${image.pixels[i]}`);
      }
    }
    // The keyboard moves between images too (a radio group).
    await page.focus('#kd-image-0');
    await page.keyboard.press('ArrowRight');
    const s = await checkBars('ArrowRight in the image list');
    expect(s.image === 1, `ArrowRight in the image list shows image ${s.image}`);
  });

  await step('the students\' probabilities, or the note that chapter 5 has not run', async () => {
    const students = data.students;
    const usable = students && students.images.length === data.teacher.images.length &&
                   JSON.stringify(students.teacher_config) === JSON.stringify(data.teacher.teacher_config) &&
                   students.quick === data.teacher.quick &&
                   students.images.every((s, k) => s.test_index === data.teacher.images[k].test_index);
    for (let k = 0; k < data.teacher.images.length; k += 4) {
      await page.click(`label[for=kd-image-${k}]`);
      const s = await shown();
      if (usable) {
        expect(s.studentsNote === null, `students embedded, but the page says: ${s.studentsNote}`);
        expectClose(s.hardStudent, softmax(students.images[k].hard_logits, 1), `image ${k}: hard student`);
        expectClose(s.softStudent, softmax(students.images[k].soft_logits, 1), `image ${k}: soft student`);
      } else {
        expect(s.studentsNote && /run chapter 5/i.test(s.studentsNote), `no usable students, and the page says: ${s.studentsNote}`);
        expect(s.hardStudent.length === 0, 'no usable students, yet student bars are drawn');
      }
    }
    if (usable) {
      const explain = await page.textContent('#kd-students-explain');
      const setting = `T = ${Number(students.soft_targets.T.toPrecision(6))}, alpha = ${Number(students.soft_targets.alpha.toPrecision(6))}`;
      expect(explain.includes(setting), `the students' text "${explain}" does not say ${setting}`);
    }
    console.log(`     (${usable ? 'chapter 5\'s students embedded and checked' : 'no chapter 5 students: the note checked'})`);
  });

  await step('screenshots at 1280 and 400 px, nothing wider than the window', async () => {
    await page.click(`label[for=kd-image-${data.teacher.images.findIndex((i) => i.kind === 'torn')}]`);
    await page.fill('#kd-t-number', '4');
    await page.press('#kd-t-number', 'Enter');
    for (const width of [1280, 400]) {
      await page.setViewportSize({ width, height: 900 });
      const overflow = await page.evaluate(() => {
        const root = document.getElementById('kd-explorer');
        return { explorer: root.scrollWidth - root.clientWidth, page: document.documentElement.scrollWidth - window.innerWidth };
      });
      // scrollWidth rounds fractional layout up: 1 px is rounding, not overflow.
      expect(overflow.explorer <= 1, `at ${width} px the explorer is ${overflow.explorer} px wider than its column`);
      expect(overflow.page <= 0, `at ${width} px the page scrolls sideways by ${overflow.page} px`);
      await checkBars(`at ${width} px`);
      await page.locator('#kd-explorer').screenshot({ path: path.join(shots, `explorer-${width}.png`) });
      await page.screenshot({ path: path.join(shots, `explorer-page-${width}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step('without chapter 3\'s data the page says how to get it', async () => {
    await open(noDataSite);
    const s = await page.evaluate(() => ({
      state: document.getElementById('kd-explorer').dataset.state,
      note: document.getElementById('kd-no-teacher').hidden ? null : document.getElementById('kd-no-teacher').textContent,
      body: document.getElementById('kd-body').hidden,
    }));
    expect(s.state === 'no-data' && s.body && s.note && s.note.includes('./run book') && s.note.includes('ch03_temperature'),
           `the page without data: ${JSON.stringify(s)}`);
    await page.screenshot({ path: path.join(shots, 'explorer-no-data-1280.png') });
  });

  noProblems('during the test');
} catch (error) {
  exitCode = 1;
  console.error(`FAIL ${error instanceof Failure ? error.message : error.stack}`);
  if (problems.length > 0) console.error(`also seen:\n  ${problems.join('\n  ')}`);
} finally {
  await context?.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
const total = (performance.now() - started) / 1000;
console.log(`explorer browser test: ${timings.length} steps passed in ${total.toFixed(1)} s ` +
            `(${timings.map(([n, ms]) => (ms / 1000).toFixed(1)).join(' + ') || 0} s of steps); screenshots in ${shots}`);
process.exit(exitCode);
