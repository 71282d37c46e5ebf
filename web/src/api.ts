// The REST API as the console uses it: the same calls a script makes.

import type { components } from './api.gen';

// The API's types, generated at build time from the server's OpenAPI document (web/openapi.json).
type Schemas = components['schemas'];
export type Role = Schemas['Role'];
export type User = Schemas['User'];
export type RunInfo = Schemas['RunInfo'];
export type Partition = Schemas['Partition'];
export type VirtualEthAdapter = Schemas['VirtualEthAdapter'];
export type EthDevice = Schemas['EthDevice'];
export type VirtualEthernet = Schemas['VirtualEthernet'];
export type NetworkView = Schemas['NetworkView'];
export type Summary = Schemas['ResourceSummary'];
export type SystemView = Schemas['SystemView'];
export type Task = Schemas['Task'];
export type StoragePool = Schemas['StoragePool'];
export type BackingDevice = Schemas['BackingDevice'];
export type CloudInit = Schemas['CloudInit'];
export type Mapping = Schemas['Mapping'];
export type Adapter = Schemas['VirtualScsiAdapter'];
export type Hdisk = Schemas['Hdisk'];
export type OpticalMedia = Schemas['OpticalMedia'];
export type OpticalDevice = Schemas['OpticalDevice'];
export type StorageView = Schemas['StorageView'];
export type PartitionSpec = Schemas['PartitionSpec'];
export type CreatePreview = Schemas['CreatePreview'];
export type UtilSample = Schemas['UtilSample'];
export type UtilConfig = Schemas['UtilConfig'];
export type UtilPoint = Schemas['UtilPoint'];
export type MemPoolView = Schemas['MemPoolView'];
export type MemPoolRequest = Schemas['MemPoolRequest'];
export type MigrationRequest = Schemas['MigrationRequest'];
export type MigrationAccept = Schemas['MigrationAccept'];
export type MigrationView = Schemas['MigrationView'];

/** An error the API returned: the server's message, shown verbatim. */
export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

let onUnauthorized: () => void = () => {};
/** Called when a request comes back 401: the session expired or ended. */
export function setUnauthorizedHandler(f: () => void) { onUnauthorized = f; }

/** Sent with every request; the server refuses a cookie-authenticated change without it. */
export const CSRF_HEADER = 'X-IVM-Request';

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    // The header a cross-site form cannot send: the server refuses changes without it.
    headers: body === undefined ? { [CSRF_HEADER]: '1' } : { [CSRF_HEADER]: '1', 'Content-Type': 'application/json' },
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
  /** The same create request as a dry run: the rules' answer, nothing committed. */
  preview: (spec: Record<string, unknown>) => call<CreatePreview>('POST', '/partitions?dry_run=true', spec),
  change: (id: number, change: Record<string, unknown>) => call<Partition>('PATCH', `/partitions/${id}`, change),
  remove: (id: number) => call<void>('DELETE', `/partitions/${id}`),
  activate: (id: number) => call<Partition>('POST', `/partitions/${id}/activate`, {}),
  shutdown: (id: number, kind: string, restart: boolean) =>
    call<void>('POST', `/partitions/${id}/shutdown`, { kind, restart }),
  partition: (id: number) => call<Partition>('GET', `/partitions/${id}`),
  closeConsole: (id: number) => call<void>('DELETE', `/partitions/${id}/console`),
  users: () => call<User[]>('GET', '/users'),
  createUser: (name: string, role: Role, password: string) => call<User>('POST', '/users', { name, role, password }),
  changeRole: (name: string, role: Role) => call<User>('PATCH', `/users/${name}`, { role }),
  deleteUser: (name: string) => call<void>('DELETE', `/users/${name}`),
  setPassword: (name: string, password: string) => call<void>('PUT', `/users/${name}/password`, { password }),
  storage: () => call<StorageView>('GET', '/storage'),
  createDisk: (name: string, pool: string | null, size_mb: number, vadapter: string | null) =>
    call<BackingDevice>('POST', '/storage/disks', { name, pool, size_mb, vadapter }),
  /** A new disk with a raw or qcow2 image's contents (a file in the boot directory or a file pool). */
  importDisk: (name: string, image: string, vadapter: string | null) =>
    call<BackingDevice>('POST', '/storage/disks', { name, pool: null, size_mb: 0, image, vadapter }),
  setCloudInit: (id: number, seed: CloudInit) => call<void>('PUT', `/partitions/${id}/cloud-init`, seed),
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
  memPool: () => call<MemPoolView>('GET', '/system/mempool'),
  createMemPool: (req: MemPoolRequest) => call<void>('POST', '/system/mempool', req),
  changeMemPool: (req: MemPoolRequest) => call<void>('PATCH', '/system/mempool', req),
  removeMemPool: () => call<void>('DELETE', '/system/mempool'),
  utilSeries: (lpar: number | null, from_ms: number) =>
    call<UtilPoint[]>('GET', `/utilization/series?from_ms=${from_ms}${lpar === null ? '' : `&lpar_id=${lpar}`}`),
  utilConfig: () => call<UtilConfig>('GET', '/utilization/config'),
  unload: (vtd: string) => call<OpticalDevice>('POST', `/storage/optical/${encodeURIComponent(vtd)}/unload`),
  /** Validates (validate_only) or carries out a move to another ivm host; returns once done. */
  migrate: (req: MigrationRequest) => call<MigrationAccept>('POST', '/migrations', req),
  migrations: () => call<MigrationView[]>('GET', '/migrations'),
  stopMigration: (id: number) => call<void>('POST', `/migrations/${id}/stop`),
};

/** Uploads an ISO into the media library, streamed, reporting progress (0..1). */
export function uploadMedia(name: string, file: File, readOnly: boolean, progress: (f: number) => void): Promise<OpticalMedia> {
  return new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    x.open('PUT', `/api/v1/storage/media/${encodeURIComponent(name)}?read_only=${readOnly}`);
    x.withCredentials = true;
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.setRequestHeader(CSRF_HEADER, '1');
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
