// The REST API as the console uses it: the same calls a script makes.

export type Role = 'View/Modify' | 'View Only' | 'Service Representative';
export interface User { name: string; role: Role }

export interface RunInfo {
  pid: number; accel: string; started_ms: number; procs: number; mem: number; cpus: string;
  console_attached: boolean; utilized_units: number;
}

export interface Partition {
  lpar_id: number; name: string; lpar_env: string; state: string; ref_code: string; ref_time_ms: number;
  auto_start: boolean; boot_mode: string; os_version: string; max_virtual_slots: number;
  proc_mode: 'ded' | 'shared'; min_procs: number; desired_procs: number; max_procs: number;
  min_proc_units: number | null; desired_proc_units: number | null; max_proc_units: number | null;
  sharing_mode: string; uncap_weight: number;
  mem_mode: string; min_mem: number; desired_mem: number; max_mem: number;
  boot_kernel: string; boot_initrd: string; boot_args: string;
  virtual_eth_adapters: VirtualEthAdapter[]; virtual_eth_mac_base_value: string;
  run?: RunInfo;
}

export interface VirtualEthAdapter {
  slot_num: number; ieee_virtual_eth: boolean; port_vlan_id: number; addl_vlan_ids: number[];
  is_trunk: boolean; is_required: boolean;
}
export interface EthDevice {
  name: string; kind: 'physical' | 'virtual' | 'sea'; ifname: string; slot: number | null; pvid: number | null;
  phys: string | null; vadapter: string | null; available: boolean; mac: string;
}
export interface VirtualEthernet {
  pvid: number; bridge: string; active: boolean; adapters: [number, number][]; sea: string | null; sea_phys: string | null;
}
export interface NetworkView { devices: EthDevice[]; ids: VirtualEthernet[] }

export interface Summary {
  installed_procs: number; configurable_proc_units: number; committed_proc_units: number;
  available_proc_units: number; available_procs: number; installed_mem: number; firmware_mem: number;
  configurable_mem: number; committed_mem: number; available_mem: number; mem_region_size: number;
  partitions: number;
}

export interface SystemView {
  name: string; type_model: string; serial_num: string; installed_procs: number; installed_mem: number;
  mem_region_size: number; firmware_mem: number; max_lpars: number; state: string; mgmt_lpar_id: number;
  mgmt_lpar_name: string; accel: string; accel_reason: string;
}

export interface Task {
  id: number; user: string; operation: string; target: string; started_ms: number;
  finished_ms: number | null; result: 'running' | 'succeeded' | 'failed'; message: string;
  progress: number | null;
}

export interface StoragePool { name: string; kind: 'LVPOOL' | 'FBPOOL'; size_mb: number; path: string; thin: boolean; default: boolean }
export interface BackingDevice { name: string; pool: string; size_mb: number }
export interface Mapping { vtd: string; lpar_id: number; vhost: number; lun: number; backing: string; kind: 'lv' | 'disk' | 'optical' }
export interface Adapter { vhost: number; lpar_id: number; client_slot: number; server_slot: number }
export interface Hdisk { name: string; id: string; device: string; size_mb: number; present: boolean; pvid: string }
export interface OpticalMedia { name: string; size_mb: number; access: 'ro' | 'rw' }
export interface OpticalDevice { vtd: string; lpar_id: number; vhost: number; lun: number; media: string | null }
export interface StorageView {
  pools: StoragePool[]; disks: BackingDevice[]; adapters: Adapter[]; mappings: Mapping[]; hdisks: Hdisk[];
  members: [string, string][]; pools_free_mb: [string, number][];
  repository: { pool: string; size_mb: number; free_mb: number } | null;
  media: OpticalMedia[]; optical: OpticalDevice[];
}

/** An error the API returned: the server's message, shown verbatim. */
export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

let onUnauthorized: () => void = () => {};
/** Called when a request comes back 401: the session expired or ended. */
export function setUnauthorizedHandler(f: () => void) { onUnauthorized = f; }

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // A 401 on a page's requests means the session ended; the first check and a login just say no.
  if (r.status === 401 && path !== '/login' && path !== '/session') onUnauthorized();
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try { message = (await r.json()).message ?? message; } catch { /* not JSON */ }
    throw new ApiError(r.status, message);
  }
  return (r.status === 204 ? undefined : await r.json()) as T;
}

export const api = {
  session: () => call<User>('GET', '/session'),
  login: (user: string, password: string) => call<{ token: string; user: User }>('POST', '/login', { user, password }),
  logout: () => call<void>('POST', '/logout'),
  system: () => call<SystemView>('GET', '/system'),
  create: (spec: Record<string, unknown>) => call<Partition>('POST', '/partitions', spec),
  change: (id: number, change: Record<string, unknown>) => call<Partition>('PATCH', `/partitions/${id}`, change),
  remove: (id: number) => call<void>('DELETE', `/partitions/${id}`),
  activate: (id: number) => call<Partition>('POST', `/partitions/${id}/activate`, {}),
  shutdown: (id: number, kind: string, restart: boolean) =>
    call<void>('POST', `/partitions/${id}/shutdown`, { kind, restart }),
  closeConsole: (id: number) => call<void>('DELETE', `/partitions/${id}/console`),
  users: () => call<User[]>('GET', '/users'),
  createUser: (name: string, role: Role, password: string) => call<User>('POST', '/users', { name, role, password }),
  changeRole: (name: string, role: Role) => call<User>('PATCH', `/users/${name}`, { role }),
  deleteUser: (name: string) => call<void>('DELETE', `/users/${name}`),
  setPassword: (name: string, password: string) => call<void>('PUT', `/users/${name}/password`, { password }),
  storage: () => call<StorageView>('GET', '/storage'),
  createDisk: (name: string, pool: string | null, size_mb: number, vadapter: string | null) =>
    call<BackingDevice>('POST', '/storage/disks', { name, pool, size_mb, vadapter }),
  removeDisk: (name: string) => call<void>('DELETE', `/storage/disks/${encodeURIComponent(name)}?with_vtd=true`),
  map: (backing: string, vadapter: string) => call<Mapping>('POST', '/storage/mappings', { backing, vadapter }),
  unmap: (vtd: string) => call<Mapping>('DELETE', `/storage/mappings/${encodeURIComponent(vtd)}`),
  createRepository: (pool: string | null, size_mb: number) => call<void>('POST', '/storage/repository', { pool, size_mb }),
  removeMedia: (name: string) => call<void>('DELETE', `/storage/media/${encodeURIComponent(name)}?force=true`),
  createOptical: (vadapter: string) => call<OpticalDevice>('POST', '/storage/optical', { vadapter }),
  load: (vtd: string, media: string) => call<OpticalDevice>('POST', `/storage/optical/${encodeURIComponent(vtd)}/load`, { media, force: true }),
  restore: (data: string, ignore_mtms: boolean) => call<number[]>('POST', '/backup/restore', { data, ignore_mtms }),
  clear: () => call<void>('POST', '/backup/clear'),
  network: () => call<NetworkView>('GET', '/network'),
  ethernet: (id: number, op: 'a' | 'r', slot_num: number, port_vlan_id?: number) =>
    call<Partition>('POST', `/partitions/${id}/ethernet`, { op, slot_num, port_vlan_id }),
  createSea: (phys: string, vadapter: string) => call<EthDevice>('POST', '/network/sea', { phys, vadapter }),
  removeDevice: (name: string) => call<EthDevice>('DELETE', `/network/devices/${encodeURIComponent(name)}`),
  unload: (vtd: string) => call<OpticalDevice>('POST', `/storage/optical/${encodeURIComponent(vtd)}/unload`),
};

/** Uploads an ISO into the media library, streamed, reporting progress (0..1). */
export function uploadMedia(name: string, file: File, readOnly: boolean, progress: (f: number) => void): Promise<OpticalMedia> {
  return new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    x.open('PUT', `/api/v1/storage/media/${encodeURIComponent(name)}?read_only=${readOnly}`);
    x.withCredentials = true;
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.upload.onprogress = (e) => { if (e.lengthComputable) progress(e.loaded / e.total); };
    x.onload = () => {
      let body: { message?: string } & OpticalMedia;
      try { body = JSON.parse(x.responseText); } catch { body = { message: x.statusText } as never; }
      if (x.status >= 200 && x.status < 300) ok(body); else fail(new ApiError(x.status, body.message ?? x.statusText));
    };
    x.onerror = () => fail(new ApiError(0, 'the upload broke off; nothing was kept'));
    x.send(file);
  });
}

/** Processing units as IVM prints them: 4.0, 0.5, 0.25. */
export function units(u: number | null | undefined): string {
  if (u === null || u === undefined) return '';
  const h = Math.round(u * 100);
  return h % 10 === 0 ? (h / 100).toFixed(1) : (h / 100).toFixed(2);
}

export function uptime(p: Partition): string {
  if (!p.run) return '';
  const s = Math.max(0, Math.floor((Date.now() - p.run.started_ms) / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}
