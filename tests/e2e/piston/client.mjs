// client.mjs - drives a published Piston client (the npm package
// piston-client, installed outside the tree: PISTON_CLIENT_DIR) against a
// real jobcell stack over TLS (NODE_EXTRA_CA_CERTS). That client sends
// no headers, so the key goes in the path: SERVER=$URL/piston/$KEY.
// Prints one JSON line per call for the bats suite to check.
const mod = await import(`${process.env.PISTON_CLIENT_DIR}/index.js`);
const client = mod.piston({ server: process.env.SERVER });

const runtimes = await client.runtimes();
console.log(JSON.stringify({ call: 'runtimes', runtimes }));
const py = await client.execute('python', 'import sys\nprint("py", sys.argv[1:])');
console.log(JSON.stringify({ call: 'python', result: py }));
const c = await client.execute('c', '#include <stdio.h>\nint main(){puts("c");return 4;}',
    { stdin: '' });
console.log(JSON.stringify({ call: 'c', result: c }));
const bad = await client.execute({ language: 'c', version: '*',
    files: [{ content: 'int main(){return x;}' }] });
console.log(JSON.stringify({ call: 'c-bad', result: bad }));
