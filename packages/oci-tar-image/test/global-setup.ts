import { removeIfCreated } from '@oci2lxc/fixtures';

// skopeo and podman run as root keep a cache in /var/lib/containers: leave the host as found.
export default function setup(): () => void {
  return removeIfCreated(['/var/lib/containers']);
}
