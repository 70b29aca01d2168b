import { removeIfCreated } from '@oci2lxc/fixtures';

// skopeo run as root keeps a cache in /var/lib/containers: leave the host as found.
export default function setup(): () => void {
  return removeIfCreated(['/var/lib/containers']);
}
