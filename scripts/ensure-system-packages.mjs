// The test suite needs two programs from the operating system: a Java runtime for DynamoDB Local
// (the storage suite's second engine) and Chromium for the browser end-to-end test. On Debian as
// root they are installed here; anywhere else the run stops with the one command that installs them.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.DEPUTY_CHROMIUM ?? '/usr/bin/chromium';
const onPath = (command) => {
  try {
    execSync(`command -v ${command}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};

const missing = [
  ...(onPath('java') ? [] : ['openjdk-17-jre-headless']),
  ...(existsSync(chromium) ? [] : ['chromium']),
];
if (missing.length > 0) {
  const install = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    console.log(`Installing ${missing.join(' and ')} for the test suite (${install})…`);
    execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${install} -qq >/dev/null`, {
      stdio: 'inherit',
      shell: '/bin/sh',
    });
  } else {
    console.error(
      `The tests need ${missing.join(' and ')}: run \`sudo apt-get update && sudo ${install}\` first.`,
    );
    process.exit(1);
  }
}
