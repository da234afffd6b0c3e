/**
 * The methods each registered route path answers, so that a known path asked with another
 * method is told which ones it takes (405 with Allow) instead of that the route does not exist.
 */
export class RouteMethods {
  private readonly routes: { readonly pattern: RegExp; readonly methods: Set<string> }[] = [];

  /** `url` as Fastify takes it: literal segments, `:param` segments, a trailing `*`. */
  add(url: string, methods: string | readonly string[]): void {
    const source = url
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const pattern = new RegExp(`^${source}$`);
    const route = this.routes.find((r) => r.pattern.source === pattern.source) ?? { pattern, methods: new Set<string>() };
    if (!this.routes.includes(route)) this.routes.push(route);
    for (const method of typeof methods === 'string' ? [methods] : methods) route.methods.add(method.toUpperCase());
  }

  /** The methods `url` (a request URL, query string and all) is answered for; [] for an unknown path. */
  allowed(url: string): string[] {
    const path = url.split('?')[0] ?? url;
    return [...new Set(this.routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]))].sort();
  }
}
