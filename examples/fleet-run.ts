// Run a command on every host of an inventory and print a summary.
// Usage: node --import tsx examples/fleet-run.ts hosts.txt 'uptime'
import { Fleet } from '../src/index.js';

const [inventory = 'hosts.txt', command = 'uptime'] = process.argv.slice(2);
const fleet = await Fleet.fromInventory(inventory, { concurrency: 100 });
fleet.run(command).subscribe((event) => {
  if (event.type === 'exit') console.log(event.host, 'exit', event.exitStatus);
  if (event.type === 'error') console.log(event.host, 'error', event.kind);
});
