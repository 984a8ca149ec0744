// Runs one backup in a separate process so a test can kill it with SIGKILL at any moment.
// Usage: node --import tsx tests/helpers/backup-child.ts REPO PACK_SIZE PATH... (password in MAMORI_PASSWORD)
import { backup } from '../../electron/engine/backup';
import { Repository } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';

const [repoDir, packSize, ...paths] = process.argv.slice(2);
const repo = await Repository.open(new LocalBackend(repoDir), process.env.MAMORI_PASSWORD ?? '', { packSize: Number(packSize) });
const r = await repo.withLock(false, () => backup(repo, { paths }));
process.stdout.write(JSON.stringify({ snapshot: r.snapshotId }) + '\n');
