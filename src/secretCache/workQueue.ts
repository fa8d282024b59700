/** A queue that workers wait on until it is closed and empty. */
export class WorkQueue<T> {
  private readonly items: T[] = [];
  private readonly waiting: Array<(item: T | undefined) => void> = [];
  private closed = false;

  /** Hands the item to a waiting worker, or keeps it for the next `take`. */
  push(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(item);
    else this.items.push(item);
  }

  /** No more items will come: waiting workers get undefined once the queue is empty. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
  }

  /** The next item, or undefined when the queue is closed and empty. */
  take(): Promise<T | undefined> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
