import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import os from 'node:os';

/**
 * Run as root (`sudo hearth doctor`), the checks would see root's world, not the hub's: every file
 * readable, NFS squashing root, and a first NAS write probe leaving a root-owned probe folder the hub
 * cannot write into afterwards. So a root process first becomes the data folder's owner, which is the
 * hub's user (`hearth` on the appliance), with that user's groups (bluetooth…). Returns who it runs as.
 */
export function becomeDataOwner(dataDir: string): string {
  if (process.getuid?.() === 0) {
    let owner: { uid: number; gid: number } | null = null;
    try {
      owner = statSync(dataDir);
    } catch {
      // No data folder: nothing to take the identity from; the checks say what is missing.
    }
    if (owner && owner.uid !== 0) {
      process.setgroups!(groupsOf(owner.uid, owner.gid));
      process.setgid!(owner.gid);
      process.setuid!(owner.uid);
    }
  }
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '?');
  }
}

/** The user's groups as the system knows them (`id -G` reads /etc/group, NSS included). */
function groupsOf(uid: number, gid: number): number[] {
  try {
    const out = execFileSync('id', ['-G', String(uid)], { encoding: 'utf8', timeout: 5000 });
    return out.trim().split(/\s+/).map(Number);
  } catch {
    return [gid];
  }
}
