// The part of noVNC's RFB class the console uses (the package ships no types).
declare module '@novnc/novnc' {
  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: string | WebSocket, options?: { shared?: boolean });
    scaleViewport: boolean;
    viewOnly: boolean;
    focusOnClick: boolean;
    background: string;
    sendCtrlAltDel(): void;
    focus(): void;
    disconnect(): void;
  }
}
